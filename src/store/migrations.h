/* migrations.h: the schema, embedded from migrations/NNNN_name.sql at build time.
 * Each entry is applied once, in order, and recorded in the database. */
#ifndef TS_STORE_MIGRATIONS_H
#define TS_STORE_MIGRATIONS_H

typedef struct ts_migration {
    int version;
    const char *name;
    const char *sql;
} ts_migration;

extern const ts_migration ts_migrations[];
extern const int ts_migrations_count;
/* PostgreSQL's, from migrations/postgres/NNNN_name.sql (store/pg.c). */
extern const ts_migration ts_pg_migrations[];
extern const int ts_pg_migrations_count;

#endif
