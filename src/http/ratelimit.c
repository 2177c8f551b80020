/* ratelimit.c: per-key token buckets. A small open-addressing table keyed
 * by key id under one mutex; when a key's probe run is full, the slot
 * refilled longest ago is given to it (that key starts with a full bucket). */
#include "http/ratelimit.h"

#include <pthread.h>
#include <stdlib.h>

#define RL_SLOTS 4096
#define RL_PROBES 8

typedef struct rl_slot {
    int64_t key_id; /* 0: free */
    double tokens;
    int64_t last_ns;
} rl_slot;

struct ts_ratelimit {
    pthread_mutex_t mu;
    double rate;
    rl_slot slots[RL_SLOTS];
};

ts_ratelimit *ts_ratelimit_new(double rate)
{
    ts_ratelimit *rl = calloc(1, sizeof(*rl));
    if (!rl)
        return NULL;
    pthread_mutex_init(&rl->mu, NULL);
    rl->rate = rate;
    return rl;
}

void ts_ratelimit_free(ts_ratelimit *rl)
{
    if (!rl)
        return;
    pthread_mutex_destroy(&rl->mu);
    free(rl);
}

/* key_id's slot, or the one it takes over (reset to a full bucket). */
static rl_slot *slot_for(ts_ratelimit *rl, int64_t key_id, int64_t now_ns)
{
    size_t i = (size_t)((uint64_t)key_id * 11400714819323198485ULL >> 52) % RL_SLOTS, victim = i;
    rl_slot *sl = NULL;
    for (size_t probe = 0; probe < RL_PROBES; probe++) {
        rl_slot *c = &rl->slots[(i + probe) % RL_SLOTS];
        if (c->key_id == key_id || c->key_id == 0) {
            sl = c;
            break;
        }
        if (c->last_ns < rl->slots[victim].last_ns)
            victim = (i + probe) % RL_SLOTS;
    }
    if (!sl || sl->key_id != key_id) {
        sl = sl ? sl : &rl->slots[victim];
        sl->key_id = key_id;
        sl->tokens = rl->rate;
        sl->last_ns = now_ns;
    }
    return sl;
}

int ts_ratelimit_take(ts_ratelimit *rl, int64_t key_id, int64_t now_ns)
{
    int wait = 0;
    if (!rl || rl->rate <= 0)
        return 0;
    pthread_mutex_lock(&rl->mu);
    rl_slot *sl = slot_for(rl, key_id, now_ns);
    sl->tokens += rl->rate * (double)(now_ns - sl->last_ns) / 1e9;
    if (sl->tokens > rl->rate)
        sl->tokens = rl->rate;
    sl->last_ns = now_ns;
    if (sl->tokens >= 1.0)
        sl->tokens -= 1.0;
    else
        wait = (int)((1.0 - sl->tokens) / rl->rate) + 1;
    pthread_mutex_unlock(&rl->mu);
    return wait;
}
