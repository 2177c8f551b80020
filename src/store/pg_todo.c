/* pg_todo.c: TEMPORARY, deleted before the PostgreSQL backend is switched
 * on. Placeholders for the contract functions of pg_int.h while pg.c,
 * pg_writer.c, pg_jobs.c and pg_query.c are written in parallel: each
 * block goes when its file lands. Nothing reaches them (store.c does not
 * select the backend until every block is gone). */
#include "store/pg_int.h"


