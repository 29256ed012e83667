/* _ledgerscan: the clearing ledgers read in one pass of C, for the reconcile command's speed.
 *
 * An optional accelerator of custodian_app.domain.formats, tried first for bytes input. It reads
 * an atm-ledger/1 or host-ledger/1 document's big arrays (transactions, and the 冠字号 note
 * trail) straight from the bytes, checks every field by the same rules as formats.py, and
 * returns the transaction columns as Python lists. The banknote trail is not turned into
 * objects at all: each note is checked and its value added to its transaction's note flow
 * (taken, retracted, deposited, returned) and to the unit it went into.
 *
 * On anything unusual (an escape, a character outside ASCII, a value that might be wrong, a
 * duplicate key, known or not, a layout not foreseen) a scan returns None, and formats.py reads the document
 * itself and names the fault exactly. So this code never decides that input is invalid; it
 * only accepts what formats.py accepts, and the tests fuzz the two against each other. Every
 * key of rules revision 2 inside the arrays is read here (reversed_amount, cash.unknown);
 * other keys are ignored as the spec says. The header, totals, units and retained_cards are
 * left to formats.py: a scan returns the document with the big arrays replaced by [] for that.
 *
 * No I/O, no Qt: pure computation over a buffer, like the rest of the domain core.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>

typedef long long i64;

/* GCC and Clang, or MSVC (the Windows build) */
#if defined(_MSC_VER)
#define ALWAYS_INLINE __forceinline
static inline int add_overflows(i64 a, i64 b, i64 *out) {
    if ((b > 0 && a > LLONG_MAX - b) || (b < 0 && a < LLONG_MIN - b)) return 1;
    *out = a + b;
    return 0;
}
#else
#define ALWAYS_INLINE inline __attribute__((always_inline))
#define add_overflows(a, b, out) __builtin_add_overflow((a), (b), (out))
#endif

/* ------------------------------------------------------------------------------------------ */
/* A cursor over the document. Every parse_* returns 0 on success, -1 to give up (None), -2 on
 * a Python error (memory). */

typedef struct {
    const unsigned char *base, *p, *end;
} Cur;

#define GIVE_UP (-1)
#define PY_ERR (-2)
#define TRY(x) do { int _r = (x); if (_r) return _r; } while (0)

static inline void ws(Cur *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\n' || *c->p == '\r' || *c->p == '\t')) c->p++;
}

static inline int expect(Cur *c, unsigned char ch) {
    ws(c);
    if (c->p >= c->end || *c->p != ch) return GIVE_UP;
    c->p++;
    return 0;
}

/* Bytes that a plain string may hold: printable ASCII but the quote and the backslash. */
static unsigned char PLAIN[256];
/* Bytes of a banknote serial ([A-Z0-9?]) and of a TSN ([0-9A-Za-z-]) */
static unsigned char SERIALC[256], TSNC[256];

/* A plain string: printable ASCII without escapes (anything else: give up). */
static inline int pstr(Cur *c, const unsigned char **s, Py_ssize_t *n) {
    ws(c);
    if (c->p >= c->end || *c->p != '"') return GIVE_UP;
    const unsigned char *q = ++c->p, *end = c->end;
    while (q < end && PLAIN[*q]) q++;
    if (q >= end || *q != '"') return GIVE_UP;
    *s = c->p; *n = q - c->p; c->p = q + 1;
    return 0;
}

static inline int lit(Cur *c, const char *word, Py_ssize_t n) {
    if (c->end - c->p < n || memcmp(c->p, word, n) != 0) return GIVE_UP;
    c->p += n;
    return 0;
}

/* null -> 1, a plain string -> 0 */
static inline int pstr_or_null(Cur *c, const unsigned char **s, Py_ssize_t *n, int *is_null) {
    ws(c);
    if (c->p < c->end && *c->p == 'n') {
        *is_null = 1;
        return lit(c, "null", 4);
    }
    *is_null = 0;
    return pstr(c, s, n);
}

static inline int pbool(Cur *c, int *v) {
    ws(c);
    if (c->p < c->end && *c->p == 't') { *v = 1; return lit(c, "true", 4); }
    if (c->p < c->end && *c->p == 'f') { *v = 0; return lit(c, "false", 5); }
    return GIVE_UP;
}

/* The keys an object of the big arrays gives that this scanner does not read (the spec lets a
 * writer add some). A key given twice gives up, so that formats.py names it: a duplicate key is
 * refused, and orjson would keep the last one without a word. Few are expected; more than
 * OTHER_KEYS also gives up (the general reader then decides). */
#define OTHER_KEYS 16
typedef struct {
    const unsigned char *k[OTHER_KEYS];
    Py_ssize_t n[OTHER_KEYS];
    int count;
} OtherKeys;

static int other_key(OtherKeys *o, const unsigned char *k, Py_ssize_t n) {
    for (int i = 0; i < o->count; i++)
        if (o->n[i] == n && memcmp(o->k[i], k, n) == 0) return GIVE_UP;
    if (o->count == OTHER_KEYS) return GIVE_UP;
    o->k[o->count] = k;
    o->n[o->count++] = n;
    return 0;
}

/* Any JSON value, checked strictly. strict: strings must be plain (inside the big arrays,
 * where nobody re-reads them); otherwise any valid JSON string (the head, which the general
 * reader decodes again). */
static int skip_value(Cur *c, int strict, int depth) {
    if (depth > 64) return GIVE_UP;
    ws(c);
    if (c->p >= c->end) return GIVE_UP;
    unsigned char ch = *c->p;
    if (ch == '"') {
        if (strict) {
            const unsigned char *s; Py_ssize_t n;
            return pstr(c, &s, &n);
        }
        const unsigned char *q = c->p + 1;
        while (q < c->end) {
            unsigned char d = *q;
            if (d == '"') { c->p = q + 1; return 0; }
            if (d < 0x20) return GIVE_UP;
            if (d == '\\') {
                if (q + 1 >= c->end) return GIVE_UP;
                q += 2;
                continue;
            }
            q++;
        }
        return GIVE_UP;
    }
    if (ch == '{') {
        c->p++;
        ws(c);
        if (c->p < c->end && *c->p == '}') { c->p++; return 0; }
        OtherKeys keys;
        keys.count = 0;
        for (;;) {
            const unsigned char *s; Py_ssize_t n;
            if (strict) { TRY(pstr(c, &s, &n)); TRY(other_key(&keys, s, n)); }
            else TRY(skip_value(c, 0, depth + 1));  /* a key: the head's decoder checks it */
            TRY(expect(c, ':'));
            TRY(skip_value(c, strict, depth + 1));
            ws(c);
            if (c->p < c->end && *c->p == ',') { c->p++; continue; }
            return expect(c, '}');
        }
    }
    if (ch == '[') {
        c->p++;
        ws(c);
        if (c->p < c->end && *c->p == ']') { c->p++; return 0; }
        for (;;) {
            TRY(skip_value(c, strict, depth + 1));
            ws(c);
            if (c->p < c->end && *c->p == ',') { c->p++; continue; }
            return expect(c, ']');
        }
    }
    if (ch == 't') return lit(c, "true", 4);
    if (ch == 'f') return lit(c, "false", 5);
    if (ch == 'n') return lit(c, "null", 4);
    if (ch == '-' || (ch >= '0' && ch <= '9')) {
        /* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, short enough for any decoder */
        const unsigned char *q = c->p, *start = q;
        if (*q == '-') q++;
        if (q >= c->end) return GIVE_UP;
        if (*q == '0') q++;
        else if (*q >= '1' && *q <= '9') { while (q < c->end && *q >= '0' && *q <= '9') q++; }
        else return GIVE_UP;
        if (q < c->end && *q == '.') {
            q++;
            if (q >= c->end || *q < '0' || *q > '9') return GIVE_UP;
            while (q < c->end && *q >= '0' && *q <= '9') q++;
        }
        if (q < c->end && (*q == 'e' || *q == 'E')) {
            q++;
            if (q < c->end && (*q == '+' || *q == '-')) q++;
            const unsigned char *e = q;
            if (q >= c->end || *q < '0' || *q > '9') return GIVE_UP;
            while (q < c->end && *q >= '0' && *q <= '9') q++;
            if (q - e > 2) return GIVE_UP;  /* 1e999: orjson refuses a double that overflows */
        }
        if (q - start > 18) return GIVE_UP;  /* big numbers: let the decoder judge */
        c->p = q;
        return 0;
    }
    return GIVE_UP;
}

/* ------------------------------------------------------------------------------------------ */
/* The field rules of formats.py, for plain ASCII strings. */

static inline int is_digit(unsigned char ch) { return ch >= '0' && ch <= '9'; }

/* (?:0|[1-9][0-9]{0,14})\.[0-9]{2} -> minor units */
static inline int money(const unsigned char *s, Py_ssize_t n, i64 *out) {
    if (n < 4 || n > 18 || s[n - 3] != '.' || !is_digit(s[n - 2]) || !is_digit(s[n - 1])) return GIVE_UP;
    Py_ssize_t w = n - 3;
    if (s[0] == '0' && w != 1) return GIVE_UP;
    i64 v = 0;
    for (Py_ssize_t i = 0; i < w; i++) {
        if (!is_digit(s[i])) return GIVE_UP;
        v = v * 10 + (s[i] - '0');
    }
    *out = v * 100 + (s[n - 2] - '0') * 10 + (s[n - 1] - '0');
    return 0;
}

/* [0-9A-Za-z-]{1,20} */
static inline int tsn_ok(const unsigned char *s, Py_ssize_t n) {
    if (n < 1 || n > 20) return 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char ch = s[i];
        if (!(is_digit(ch) || (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || ch == '-')) return 0;
    }
    return 1;
}

/* \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:[+-]\d\d:\d\d|Z) */
static inline int time_ok(const unsigned char *s, Py_ssize_t n) {
    static const char shape[] = "dddd-dd-ddTdd:dd:dd";
    if (n < 20) return 0;
    for (int i = 0; i < 19; i++) {
        if (shape[i] == 'd') { if (!is_digit(s[i])) return 0; }
        else if (s[i] != (unsigned char)shape[i]) return 0;
    }
    Py_ssize_t i = 19;
    if (s[i] == '.') {
        i++;
        if (i >= n || !is_digit(s[i])) return 0;
        while (i < n && is_digit(s[i])) i++;
    }
    if (i < n && s[i] == 'Z') return i + 1 == n;
    if (n - i != 6 || (s[i] != '+' && s[i] != '-')) return 0;
    return is_digit(s[i + 1]) && is_digit(s[i + 2]) && s[i + 3] == ':' && is_digit(s[i + 4]) && is_digit(s[i + 5]);
}

/* [0-9]{6}\*{2,9}[0-9]{4} */
static inline int card_ok(const unsigned char *s, Py_ssize_t n) {
    if (n < 12 || n > 19) return 0;
    for (int i = 0; i < 6; i++) if (!is_digit(s[i])) return 0;
    for (Py_ssize_t i = 6; i < n - 4; i++) if (s[i] != '*') return 0;
    for (Py_ssize_t i = n - 4; i < n; i++) if (!is_digit(s[i])) return 0;
    return 1;
}

/* [0-9A-Z]{2,3} -> a number that indexes the code cache */
static inline int code_key(const unsigned char *s, Py_ssize_t n) {
    if (n < 2 || n > 3) return -1;
    int k = (int)n - 1;  /* keeps "0A" and "00A" apart */
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char ch = s[i];
        int d;
        if (is_digit(ch)) d = ch - '0';
        else if (ch >= 'A' && ch <= 'Z') d = ch - 'A' + 10;
        else return -1;
        k = k * 36 + d;
    }
    return k;
}
#define CODE_KEYS (3 * 36 * 36 * 36)

/* [A-Z0-9?]{6,12} */
static inline int serial_ok(const unsigned char *s, Py_ssize_t n) {
    if (n < 6 || n > 12) return 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char ch = s[i];
        if (!(is_digit(ch) || (ch >= 'A' && ch <= 'Z') || ch == '?')) return 0;
    }
    return 1;
}

static inline int key_is(const unsigned char *s, Py_ssize_t n, const char *name, Py_ssize_t len) {
    return n == len && memcmp(s, name, len) == 0;
}

/* ------------------------------------------------------------------------------------------ */
/* A TSN index: open addressing over (offset, length) into the document. */

typedef struct { Py_ssize_t off; Py_ssize_t len; uint64_t hash; } Span;

typedef struct {
    uint64_t *slots;    /* (hash tag << 32) | (index + 1); 0 = empty */
    Py_ssize_t mask;
} Index;

static inline uint64_t hash_bytes(const unsigned char *s, Py_ssize_t n) {
    uint64_t h = 1469598103934665603ULL ^ (uint64_t)n;
    for (Py_ssize_t i = 0; i < n; i++) { h ^= s[i]; h *= 1099511628211ULL; }
    h ^= h >> 33;  /* MurmurHash3's finaliser: the low bits (the slot) depend on every byte */
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

static int index_init(Index *ix, Py_ssize_t expected) {
    Py_ssize_t cap = 1024;
    while (cap < expected * 2) cap <<= 1;
    ix->slots = PyMem_Calloc(cap, sizeof(uint64_t));
    ix->mask = cap - 1;
    if (!ix->slots) { PyErr_NoMemory(); return PY_ERR; }
    return 0;
}

static void index_free(Index *ix) { PyMem_Free(ix->slots); ix->slots = NULL; }

/* ------------------------------------------------------------------------------------------ */
/* Growable arrays */


typedef struct {
    Span *tsn;
    i64 (*flow)[4];      /* taken, retracted, deposited, returned: the notes' values */
    Py_ssize_t n, cap;
} Txs;

static int txs_grow(Txs *t) {
    Py_ssize_t cap = t->cap ? t->cap * 2 : 4096;
    Span *a = PyMem_Realloc(t->tsn, cap * sizeof(Span));
    if (!a) { PyErr_NoMemory(); return PY_ERR; }
    t->tsn = a;
    t->cap = cap;
    return 0;
}

static void txs_free(Txs *t) {
    PyMem_Free(t->tsn); PyMem_Free(t->flow);
    memset(t, 0, sizeof(*t));
}

/* Find or insert the TSN at spans[i]. Returns the index already there, or -1 (inserted). The
 * slot keeps a tag of the hash, so a probe reads the document (a cache miss on a big one)
 * only when the tags agree. */
static Py_ssize_t index_put(Index *ix, const unsigned char *base, Span *spans, Py_ssize_t i) {
    const unsigned char *s = base + spans[i].off;
    Py_ssize_t n = spans[i].len;
    uint64_t h = spans[i].hash, tag = h >> 32 << 32;  /* kept: a rehash reads no document */
    Py_ssize_t at = (Py_ssize_t)(h & ix->mask);
    for (;;) {
        uint64_t v = ix->slots[at];
        if (v == 0) { ix->slots[at] = tag | (uint64_t)(i + 1); return -1; }
        if ((v & 0xffffffff00000000ULL) == tag) {
            Span *o = &spans[(v & 0xffffffffULL) - 1];
            if (o->len == n && memcmp(base + o->off, s, n) == 0) return (Py_ssize_t)(v & 0xffffffffULL) - 1;
        }
        at = (at + 1) & ix->mask;
    }
}

static Py_ssize_t index_get(Index *ix, const unsigned char *base, Span *spans, const unsigned char *s, Py_ssize_t n) {
    uint64_t h = hash_bytes(s, n), tag = h >> 32 << 32;
    Py_ssize_t at = (Py_ssize_t)(h & ix->mask);
    for (;;) {
        uint64_t v = ix->slots[at];
        if (v == 0) return -1;
        if ((v & 0xffffffff00000000ULL) == tag) {
            Span *o = &spans[(v & 0xffffffffULL) - 1];
            if (o->len == n && memcmp(base + o->off, s, n) == 0) return (Py_ssize_t)(v & 0xffffffffULL) - 1;
        }
        at = (at + 1) & ix->mask;
    }
}

static int index_rehash(Index *ix, const unsigned char *base, Span *spans, Py_ssize_t n) {
    Index bigger;
    if (index_init(&bigger, n * 2)) return PY_ERR;
    for (Py_ssize_t i = 0; i < n; i++) index_put(&bigger, base, spans, i);
    index_free(ix);
    *ix = bigger;
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Python objects */

static PyObject *S_withdrawal, *S_deposit, *S_booked, *S_reversed;
static PyObject *code_cache[CODE_KEYS];

static inline PyObject *ascii(const unsigned char *s, Py_ssize_t n) {
    PyObject *o = PyUnicode_New(n, 127);
    if (o) memcpy(PyUnicode_DATA(o), s, n);
    return o;
}

static inline PyObject *code_obj(int key, const unsigned char *s, Py_ssize_t n) {
    PyObject *o = code_cache[key];
    if (!o) {
        o = ascii(s, n);
        if (!o) return NULL;
        PyUnicode_InternInPlace(&o);
        code_cache[key] = o;
    }
    Py_INCREF(o);
    return o;
}

/* Appends a new reference (stolen) to a list; NULL -> PY_ERR */
static inline int put(PyObject *list, PyObject *o) {
    if (!o) return PY_ERR;
    int r = PyList_Append(list, o);
    Py_DECREF(o);
    return r ? PY_ERR : 0;
}

/* ------------------------------------------------------------------------------------------ */
/* atm-ledger/1 */

enum { A_TSN, A_TIME, A_TYPE, A_CARD, A_AMOUNT, A_CODE, A_REF, A_REV, A_REV_AMOUNT, A_TAKEN,
       A_RETRACTED, A_DEPOSITED, A_RETURNED, A_UNKNOWN, A_COLS };

typedef struct {
    Cur c;
    Txs t;
    Index ix;
    PyObject *cols[A_COLS];
} Atm;

/* cash: taken, retracted, deposited, returned (required), unknown (rev 2, optional) */
static int atm_cash(Cur *c, i64 cash[5]) {
    TRY(expect(c, '{'));
    int seen = 0;
    OtherKeys others;
    others.count = 0;
    ws(c);
    if (c->p < c->end && *c->p == '}') return GIVE_UP;
    for (;;) {
        const unsigned char *k; Py_ssize_t kn;
        TRY(pstr(c, &k, &kn));
        TRY(expect(c, ':'));
        int slot = key_is(k, kn, "taken", 5) ? 0 : key_is(k, kn, "retracted", 9) ? 1
                 : key_is(k, kn, "deposited", 9) ? 2 : key_is(k, kn, "returned", 8) ? 3
                 : key_is(k, kn, "unknown", 7) ? 4 : -1;
        if (slot < 0) { TRY(other_key(&others, k, kn)); TRY(skip_value(c, 1, 3)); }
        else {
            if (seen & (1 << slot)) return GIVE_UP;
            seen |= 1 << slot;
            const unsigned char *s; Py_ssize_t n;
            TRY(pstr(c, &s, &n));
            TRY(money(s, n, &cash[slot]));
        }
        ws(c);
        if (c->p < c->end && *c->p == ',') { c->p++; continue; }
        TRY(expect(c, '}'));
        return (seen & 15) == 15 ? 0 : GIVE_UP;
    }
}

/* Money right after its opening quote, through its closing quote:
 * (?:0|[1-9][0-9]{0,14})\.[0-9]{2}" */
static inline int money_in(Cur *c, i64 *out) {
    const unsigned char *p = c->p, *end = c->end;
    i64 v = 0;
    int w = 0;
    if (p < end && *p == '0') { p++; w = 1; }
    else while (p < end && w < 15 && is_digit(*p)) { v = v * 10 + (*p - '0'); p++; w++; }
    if (w == 0 || end - p < 4 || p[0] != '.' || !is_digit(p[1]) || !is_digit(p[2]) || p[3] != '"') return GIVE_UP;
    *out = v * 100 + (p[1] - '0') * 10 + (p[2] - '0');
    c->p = p + 4;
    return 0;
}

/* A run of bytes of one class, then the closing quote; its length must be in [lo, hi]. */
static inline int run_in(Cur *c, const unsigned char *cls, Py_ssize_t lo, Py_ssize_t hi,
                         const unsigned char **s, Py_ssize_t *n) {
    const unsigned char *p = c->p, *end = c->end;
    while (p < end && cls[*p]) p++;
    Py_ssize_t len = p - c->p;
    if (p >= end || *p != '"' || len < lo || len > hi) return GIVE_UP;
    *s = c->p;
    *n = len;
    c->p = p + 1;
    return 0;
}

/* One transaction's fields, as read from the bytes */
typedef struct {
    const unsigned char *tsn, *time, *card, *code, *ref;
    Py_ssize_t tsn_n, time_n, card_n, code_n, ref_n;
    int is_w, rev, ref_null, code_k, has_rev_amount;
    i64 amount, rev_amount, cash[5];  /* cash[4]: unknown (rev 2) */
} Tx;

/* p[0..n) == k[0..n), a word at a time; with n known when compiling it unrolls to a few loads */
static ALWAYS_INLINE int eq_lit(const unsigned char *p, const char *k, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t a, b;
        memcpy(&a, p + i, 8);
        memcpy(&b, k + i, 8);
        if (a != b) return 0;
    }
    for (; i + 4 <= n; i += 4) {
        uint32_t a, b;
        memcpy(&a, p + i, 4);
        memcpy(&b, k + i, 4);
        if (a != b) return 0;
    }
    for (; i < n; i++)
        if (p[i] != (unsigned char)k[i]) return 0;
    return 1;
}

static ALWAYS_INLINE int key_lit(Cur *c, const char *k, Py_ssize_t n) {
    if (c->end - c->p < n || !eq_lit(c->p, k, (size_t)n)) return GIVE_UP;
    c->p += n;
    return 0;
}
/* a literal's length known when compiling: the compiler inlines the comparison */
#define KEY(c, literal) key_lit((c), (literal), (Py_ssize_t)sizeof(literal) - 1)

/* a value of the field f (0..9 in the order tsn, time, type, card, amount, host_code,
 * host_ref, reversed, cash, reversed_amount), checked */
static inline int tx_value(Cur *c, Tx *x, int f) {
    const unsigned char *s; Py_ssize_t n;
    switch (f) {
    case 0: TRY(pstr(c, &x->tsn, &x->tsn_n)); return tsn_ok(x->tsn, x->tsn_n) ? 0 : GIVE_UP;
    case 1: TRY(pstr(c, &x->time, &x->time_n)); return time_ok(x->time, x->time_n) ? 0 : GIVE_UP;
    case 2:
        TRY(pstr(c, &s, &n));
        if (key_is(s, n, "withdrawal", 10)) x->is_w = 1;
        else if (key_is(s, n, "deposit", 7)) x->is_w = 0;
        else return GIVE_UP;
        return 0;
    case 3: TRY(pstr(c, &x->card, &x->card_n)); return card_ok(x->card, x->card_n) ? 0 : GIVE_UP;
    case 4: TRY(pstr(c, &s, &n)); return money(s, n, &x->amount);
    case 5:
        TRY(pstr(c, &x->code, &x->code_n));
        return (x->code_k = code_key(x->code, x->code_n)) < 0 ? GIVE_UP : 0;
    case 6:
        TRY(pstr_or_null(c, &x->ref, &x->ref_n, &x->ref_null));
        return (!x->ref_null && (x->ref_n < 1 || x->ref_n > 32)) ? GIVE_UP : 0;
    case 7: return pbool(c, &x->rev);
    case 8: return atm_cash(c, x->cash);
    case 9:
        ws(c);
        if (c->p < c->end && *c->p == 'n') return lit(c, "null", 4);
        TRY(pstr(c, &s, &n));
        x->has_rev_amount = 1;
        return money(s, n, &x->rev_amount);
    }
    return GIVE_UP;
}

/* The layout this program and the ATM link write: keys in the spec's order, no spaces, each
 * value checked as it is scanned. GIVE_UP only means "not this layout or not valid": the caller
 * then reads the record the general way, which decides. */
static int tx_template(Cur *c, Tx *x) {
    TRY(KEY(c, "{\"tsn\":\""));
    TRY(run_in(c, TSNC, 1, 20, &x->tsn, &x->tsn_n));
    TRY(KEY(c, ",\"time\":\""));
    TRY(run_in(c, PLAIN, 20, 64, &x->time, &x->time_n));
    if (!time_ok(x->time, x->time_n)) return GIVE_UP;
    TRY(KEY(c, ",\"type\":\""));
    if (KEY(c, "withdrawal\"") == 0) x->is_w = 1;
    else if (KEY(c, "deposit\"") == 0) x->is_w = 0;
    else return GIVE_UP;
    TRY(KEY(c, ",\"card\":\""));
    TRY(run_in(c, PLAIN, 12, 19, &x->card, &x->card_n));
    if (!card_ok(x->card, x->card_n)) return GIVE_UP;
    TRY(KEY(c, ",\"amount\":\""));
    TRY(money_in(c, &x->amount));
    TRY(KEY(c, ",\"host_code\":\""));
    TRY(run_in(c, PLAIN, 2, 3, &x->code, &x->code_n));
    if ((x->code_k = code_key(x->code, x->code_n)) < 0) return GIVE_UP;
    TRY(KEY(c, ",\"host_ref\":"));
    if (KEY(c, "null") == 0) x->ref_null = 1;
    else {
        TRY(KEY(c, "\""));
        TRY(run_in(c, PLAIN, 1, 32, &x->ref, &x->ref_n));
    }
    TRY(KEY(c, ",\"reversed\":"));
    if (KEY(c, "false") == 0) x->rev = 0;
    else if (KEY(c, "true") == 0) x->rev = 1;
    else return GIVE_UP;
    if (KEY(c, ",\"reversed_amount\":") == 0) {  /* rev 2, optional */
        if (KEY(c, "null") != 0) {
            TRY(KEY(c, "\""));
            TRY(money_in(c, &x->rev_amount));
            x->has_rev_amount = 1;
        }
    }
    TRY(KEY(c, ",\"cash\":{\"taken\":\""));
    TRY(money_in(c, &x->cash[0]));
    TRY(KEY(c, ",\"retracted\":\""));
    TRY(money_in(c, &x->cash[1]));
    TRY(KEY(c, ",\"deposited\":\""));
    TRY(money_in(c, &x->cash[2]));
    TRY(KEY(c, ",\"returned\":\""));
    TRY(money_in(c, &x->cash[3]));
    if (KEY(c, ",\"unknown\":\"") == 0) TRY(money_in(c, &x->cash[4]));  /* rev 2, optional */
    return KEY(c, "}}");
}

static int tx_general(Cur *c, Tx *x) {
    TRY(expect(c, '{'));
    int seen = 0;
    OtherKeys others;
    others.count = 0;
    for (;;) {
        const unsigned char *k; Py_ssize_t kn;
        TRY(pstr(c, &k, &kn));
        TRY(expect(c, ':'));
        int f;
        switch (kn) {
        case 3: f = key_is(k, kn, "tsn", 3) ? 0 : -1; break;
        case 4: f = key_is(k, kn, "time", 4) ? 1 : key_is(k, kn, "type", 4) ? 2 : key_is(k, kn, "card", 4) ? 3
                  : key_is(k, kn, "cash", 4) ? 8 : -1; break;
        case 6: f = key_is(k, kn, "amount", 6) ? 4 : -1; break;
        case 8: f = key_is(k, kn, "host_ref", 8) ? 6 : key_is(k, kn, "reversed", 8) ? 7 : -1; break;
        case 9: f = key_is(k, kn, "host_code", 9) ? 5 : -1; break;
        case 15: f = key_is(k, kn, "reversed_amount", 15) ? 9 : -1; break;
        default: f = -1;
        }
        if (f < 0) { TRY(other_key(&others, k, kn)); TRY(skip_value(c, 1, 2)); }
        else {
            if (seen & (1 << f)) return GIVE_UP;
            seen |= 1 << f;
            TRY(tx_value(c, x, f));
        }
        ws(c);
        if (c->p < c->end && *c->p == ',') { c->p++; continue; }
        TRY(expect(c, '}'));
        break;
    }
    return (seen & 0x1ff) == 0x1ff ? 0 : GIVE_UP;
}

static int atm_transaction(Atm *a) {
    Cur *c = &a->c;
    Tx x;
    memset(&x, 0, sizeof(x));
    ws(c);
    const unsigned char *start = c->p;
    if (tx_template(c, &x)) {  /* another layout: read the record the general way */
        c->p = start;
        memset(&x, 0, sizeof(x));
        TRY(tx_general(c, &x));
    }
    /* a withdrawal deposits nothing, a deposit pays nothing out nor loses notes; a partial
     * reversal is within its bounds (rev 2). Anything else: the general reader names it. */
    if (x.is_w ? (x.cash[2] || x.cash[3]) : (x.cash[0] || x.cash[1] || x.cash[4])) return GIVE_UP;
    if (x.has_rev_amount && (x.rev || x.rev_amount <= 0 || x.rev_amount >= x.amount)) return GIVE_UP;

    Txs *t = &a->t;
    if (t->n == t->cap) TRY(txs_grow(t));
    Py_ssize_t i = t->n;
    if (i >= INT32_MAX - 1) return GIVE_UP;  /* the index keeps 32-bit positions */
    t->tsn[i].off = x.tsn - c->base;
    t->tsn[i].len = x.tsn_n;
    t->tsn[i].hash = hash_bytes(x.tsn, x.tsn_n);
    if ((i + 1) * 2 > a->ix.mask) TRY(index_rehash(&a->ix, c->base, t->tsn, i));
    if (index_put(&a->ix, c->base, t->tsn, i) >= 0) return GIVE_UP;  /* a TSN twice */
    t->n++;

    PyObject **L = a->cols;
    TRY(put(L[A_TSN], ascii(x.tsn, x.tsn_n)));
    TRY(put(L[A_TIME], ascii(x.time, x.time_n)));
    TRY(put(L[A_TYPE], Py_NewRef(x.is_w ? S_withdrawal : S_deposit)));
    TRY(put(L[A_CARD], ascii(x.card, x.card_n)));
    TRY(put(L[A_AMOUNT], PyLong_FromLongLong(x.amount)));
    TRY(put(L[A_CODE], code_obj(x.code_k, x.code, x.code_n)));
    TRY(put(L[A_REF], x.ref_null ? Py_NewRef(Py_None) : ascii(x.ref, x.ref_n)));
    TRY(put(L[A_REV], Py_NewRef(x.rev ? Py_True : Py_False)));
    TRY(put(L[A_REV_AMOUNT], x.has_rev_amount ? PyLong_FromLongLong(x.rev_amount) : Py_NewRef(Py_None)));
    for (int j = 0; j < 5; j++) TRY(put(L[A_TAKEN + j], PyLong_FromLongLong(x.cash[j])));
    return 0;
}

static int atm_transactions(Atm *a) {
    Cur *c = &a->c;
    TRY(expect(c, '['));
    ws(c);
    if (c->p < c->end && *c->p == ']') { c->p++; return 0; }
    for (;;) {
        TRY(atm_transaction(a));
        ws(c);
        if (c->p < c->end && *c->p == ',') { c->p++; continue; }
        return expect(c, ']');
    }
}

/* Unknown TSNs named by notes (no transaction has them): a small index of their own. */
typedef struct {
    Span *tsn;
    i64 (*flow)[4];
    Py_ssize_t n, cap;
    Index ix;
} Unknown;

static int unknown_add(Unknown *u, const unsigned char *base, const unsigned char *s, Py_ssize_t n, Py_ssize_t *at) {
    if (!u->ix.slots && index_init(&u->ix, 64)) return PY_ERR;
    Py_ssize_t i = index_get(&u->ix, base, u->tsn, s, n);
    if (i >= 0) { *at = i; return 0; }
    if (u->n == u->cap) {
        Py_ssize_t cap = u->cap ? u->cap * 2 : 64;
        Span *a = PyMem_Realloc(u->tsn, cap * sizeof(Span));
        if (!a) { PyErr_NoMemory(); return PY_ERR; }
        u->tsn = a;
        i64 (*b)[4] = PyMem_Realloc(u->flow, cap * sizeof(*b));
        if (!b) { PyErr_NoMemory(); return PY_ERR; }
        u->flow = b;
        u->cap = cap;
    }
    i = u->n++;
    u->tsn[i].off = s - base;
    u->tsn[i].len = n;
    u->tsn[i].hash = hash_bytes(s, n);
    memset(u->flow[i], 0, sizeof(u->flow[i]));
    if ((i + 1) * 2 > u->ix.mask) { if (index_rehash(&u->ix, base, u->tsn, i + 1)) return PY_ERR; }
    else index_put(&u->ix, base, u->tsn, i);
    *at = i;
    return 0;
}

/* Per unit, the value of the notes that went into it (retracted, deposited, rejected): a mixed
 * bin's derived amount (rev 2). A ledger has a handful of units; more than this: give up. */
#define MAX_UNITS 32
typedef struct {
    unsigned char id[5];
    Py_ssize_t n;
    i64 sum;
} UnitSum;

typedef struct {
    Py_ssize_t count;
    Unknown unknown;
    UnitSum units[MAX_UNITS];
    int nunits;
} NotesOut;

static int unit_add(NotesOut *out, const unsigned char *s, Py_ssize_t n, i64 value) {
    for (int i = 0; i < out->nunits; i++) {
        UnitSum *u = &out->units[i];
        if (u->n == n && memcmp(u->id, s, n) == 0) return add_overflows(u->sum, value, &u->sum) ? GIVE_UP : 0;
    }
    if (out->nunits == MAX_UNITS || n > 5) return GIVE_UP;
    UnitSum *u = &out->units[out->nunits++];
    memcpy(u->id, s, n);
    u->n = n;
    u->sum = value;
    return 0;
}

/* event -> flow slot (0..3), 4 for rejected */
static inline int event_slot(const unsigned char *s, Py_ssize_t n) {
    switch (n) {
    case 5: return memcmp(s, "taken", 5) == 0 ? 0 : -1;
    case 9: return memcmp(s, "retracted", 9) == 0 ? 1 : memcmp(s, "deposited", 9) == 0 ? 2 : -1;
    case 8: return memcmp(s, "returned", 8) == 0 ? 3 : memcmp(s, "rejected", 8) == 0 ? 4 : -1;
    }
    return -1;
}

/* One note in the usual layout, each value checked as it is scanned. GIVE_UP only means "not
 * this layout or not valid": the caller then reads the record the general way, which decides. */
static inline int note_template(Cur *c, i64 *value, const unsigned char **tsn, Py_ssize_t *tsn_n,
                                int *tsn_null, int *slot, const unsigned char **unit, Py_ssize_t *unit_n) {
    const unsigned char *s;
    Py_ssize_t n;
    TRY(KEY(c, "{\"serial\":\""));
    TRY(run_in(c, SERIALC, 6, 12, &s, &n));
    TRY(KEY(c, ",\"value\":\""));
    TRY(money_in(c, value));
    TRY(KEY(c, ",\"tsn\":"));
    if (KEY(c, "null") == 0) *tsn_null = 1;
    else {
        TRY(KEY(c, "\""));
        TRY(run_in(c, TSNC, 1, 20, tsn, tsn_n));
        *tsn_null = 0;
    }
    TRY(KEY(c, ",\"unit\":\""));
    TRY(run_in(c, PLAIN, 1, 5, unit, unit_n));
    TRY(KEY(c, ",\"event\":\""));
    if (KEY(c, "taken\"") == 0) *slot = 0;
    else if (KEY(c, "retracted\"") == 0) *slot = 1;
    else if (KEY(c, "deposited\"") == 0) *slot = 2;
    else if (KEY(c, "returned\"") == 0) *slot = 3;
    else if (KEY(c, "rejected\"") == 0) *slot = 4;
    else return GIVE_UP;
    return KEY(c, "}");
}

static int note_general(Cur *c, i64 *value, const unsigned char **tsn, Py_ssize_t *tsn_n, int *tsn_null,
                        int *slot, const unsigned char **unit, Py_ssize_t *unit_n) {
    const unsigned char *s;
    Py_ssize_t n;
    int seen = 0;
    OtherKeys others;
    others.count = 0;
    TRY(expect(c, '{'));
    for (;;) {
        const unsigned char *k; Py_ssize_t kn;
        TRY(pstr(c, &k, &kn));
        TRY(expect(c, ':'));
        int f = key_is(k, kn, "serial", 6) ? 0 : key_is(k, kn, "value", 5) ? 1 : key_is(k, kn, "tsn", 3) ? 2
              : key_is(k, kn, "unit", 4) ? 3 : key_is(k, kn, "event", 5) ? 4 : -1;
        if (f < 0) { TRY(other_key(&others, k, kn)); TRY(skip_value(c, 1, 2)); }
        else {
            if (seen & (1 << f)) return GIVE_UP;
            seen |= 1 << f;
            switch (f) {
            case 0: TRY(pstr(c, &s, &n)); if (!serial_ok(s, n)) return GIVE_UP; break;
            case 1: TRY(pstr(c, &s, &n)); TRY(money(s, n, value)); break;
            case 2:
                TRY(pstr_or_null(c, tsn, tsn_n, tsn_null));
                if (!*tsn_null && !tsn_ok(*tsn, *tsn_n)) return GIVE_UP;
                break;
            case 3: TRY(pstr(c, unit, unit_n)); if (*unit_n < 1 || *unit_n > 5) return GIVE_UP; break;
            case 4: TRY(pstr(c, &s, &n)); if ((*slot = event_slot(s, n)) < 0) return GIVE_UP; break;
            }
        }
        ws(c);
        if (c->p < c->end && *c->p == ',') { c->p++; continue; }
        TRY(expect(c, '}'));
        return seen == 0x1f ? 0 : GIVE_UP;
    }
}

static int atm_notes(Atm *a, NotesOut *out) {
    Cur *c = &a->c;
    Txs *t = &a->t;
    const unsigned char *base = c->base;
    if (!t->flow) {
        t->flow = PyMem_Calloc(t->n ? t->n : 1, sizeof(*t->flow));
        if (!t->flow) { PyErr_NoMemory(); return PY_ERR; }
    }
    /* notes come in runs of one TSN: remember the last one looked up */
    const unsigned char *last = NULL;
    Py_ssize_t last_n = -1, last_i = -1;
    int last_unknown = 0;
    TRY(expect(c, '['));
    ws(c);
    if (c->p < c->end && *c->p == ']') { c->p++; return 0; }
    for (;;) {
        const unsigned char *tsn = NULL, *unit = NULL;
        Py_ssize_t tsn_n = 0, unit_n = 0;
        int seen = 0, tsn_null = 0, slot = -1;
        i64 value = 0;
        ws(c);
        const unsigned char *start = c->p;
        /* the usual layout first: {"serial":..,"value":..,"tsn":..,"unit":..,"event":..} */
        if (note_template(c, &value, &tsn, &tsn_n, &tsn_null, &slot, &unit, &unit_n) == 0) seen = 0x1f;
        if (seen != 0x1f) {  /* another layout: read the record the general way */
            c->p = start;
            tsn = NULL; tsn_n = 0; tsn_null = 0; slot = -1; value = 0;
            TRY(note_general(c, &value, &tsn, &tsn_n, &tsn_null, &slot, &unit, &unit_n));
            seen = 0x1f;
        }
        if (seen != 0x1f) return GIVE_UP;
        out->count++;
        if (slot == 1 || slot == 2 || slot == 4) TRY(unit_add(out, unit, unit_n, value));
        if (!tsn_null) {
            if (!(tsn_n == last_n && memcmp(tsn, last, tsn_n) == 0)) {
                last = tsn; last_n = tsn_n;
                last_i = index_get(&a->ix, base, t->tsn, tsn, tsn_n);
                last_unknown = last_i < 0;
                if (last_unknown) TRY(unknown_add(&out->unknown, base, tsn, tsn_n, &last_i));
            }
            if (slot < 4) {
                i64 *f = last_unknown ? out->unknown.flow[last_i] : t->flow[last_i];
                if (add_overflows(f[slot], value, &f[slot])) return GIVE_UP;
            }
        }
        ws(c);
        if (c->p < c->end && *c->p == ',') { c->p++; continue; }
        return expect(c, ']');
    }
}

static PyObject *flow_tuple(i64 f[4]) {
    return Py_BuildValue("(LLLL)", f[0], f[1], f[2], f[3]);
}

/* A key of the document's top object and its colon. Plain, or anything without a backslash:
 * the head's decoder checks the rest (an escaped key could spell "transactions": give up). */
static int top_key(Cur *c, const unsigned char **k, Py_ssize_t *kn) {
    ws(c);
    if (c->p >= c->end || *c->p != '"') return GIVE_UP;
    const unsigned char *q = c->p + 1;
    while (q < c->end && *q != '"' && *q != '\\') q++;
    if (q >= c->end || *q == '\\') return GIVE_UP;
    *k = c->p + 1;
    *kn = q - *k;
    c->p = q + 1;
    TRY(expect(c, ':'));
    ws(c);
    return 0;
}

/* The scan proper; fills a and returns 0, GIVE_UP or PY_ERR. */
static int atm_scan(Atm *a, Span *tx_span, Span *notes_span, NotesOut *notes, int *has_notes) {
    Cur *c = &a->c;
    Cur deferred = {0};
    int have_tx = 0;
    *has_notes = 0;
    TRY(expect(c, '{'));
    ws(c);
    if (c->p < c->end && *c->p == '}') return GIVE_UP;
    for (;;) {
        const unsigned char *k;
        Py_ssize_t kn;
        TRY(top_key(c, &k, &kn));
        if (key_is(k, kn, "transactions", 12)) {
            if (have_tx) return GIVE_UP;
            have_tx = 1;
            tx_span->off = c->p - c->base;
            TRY(atm_transactions(a));
            tx_span->len = (c->p - c->base) - tx_span->off;
            if (deferred.base) {  /* the notes came first: read them now */
                Cur here = *c;
                *c = deferred;
                TRY(atm_notes(a, notes));
                *c = here;
            }
        } else if (key_is(k, kn, "notes", 5)) {
            if (*has_notes) return GIVE_UP;
            *has_notes = 1;
            notes_span->off = c->p - c->base;
            if (have_tx) TRY(atm_notes(a, notes));
            else { deferred = *c; TRY(skip_value(c, 1, 1)); }
            notes_span->len = (c->p - c->base) - notes_span->off;
        } else {
            TRY(skip_value(c, 0, 1));
        }
        ws(c);
        if (c->p < c->end && *c->p == ',') { c->p++; continue; }
        TRY(expect(c, '}'));
        ws(c);
        if (c->p != c->end) return GIVE_UP;
        return have_tx ? 0 : GIVE_UP;
    }
}

/* The document with the spans replaced by [] (spans in order, non-overlapping). */
static PyObject *head_of(const unsigned char *base, Py_ssize_t size, Span *spans, int nspans) {
    Py_ssize_t total = size;
    for (int i = 0; i < nspans; i++) total -= spans[i].len - 2;
    PyObject *out = PyBytes_FromStringAndSize(NULL, total);
    if (!out) return NULL;
    char *w = PyBytes_AS_STRING(out);
    Py_ssize_t at = 0;
    for (int i = 0; i < nspans; i++) {
        memcpy(w, base + at, spans[i].off - at);
        w += spans[i].off - at;
        memcpy(w, "[]", 2);
        w += 2;
        at = spans[i].off + spans[i].len;
    }
    memcpy(w, base + at, size - at);
    return out;
}

PyDoc_STRVAR(scan_atm_doc,
"scan_atm(buffer) -> None | (head, columns, notes)\n\n"
"head: the document with 'transactions' and 'notes' replaced by []; columns: the fourteen\n"
"transaction columns in formats.ATM_COLUMNS order; notes: None when the document has no\n"
"'notes', else (count, (start, end), flows, into_units): flows maps each TSN that a note names\n"
"(with a non-zero value, or that no transaction has) to the value of its notes by event\n"
"(taken, retracted, deposited, returned); into_units maps each unit id to the value of the\n"
"notes retracted, deposited or rejected into it. None: not read here; use the general reader.");

static PyObject *scan_atm(PyObject *self, PyObject *arg) {
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) return NULL;
    Atm a;
    memset(&a, 0, sizeof(a));
    NotesOut notes;
    memset(&notes, 0, sizeof(notes));
    PyObject *result = NULL;
    Span tx_span = {0, 0, 0}, notes_span = {0, 0, 0};
    int has_notes = 0, r;
    a.c.base = a.c.p = view.buf;
    a.c.end = a.c.base + view.len;
    for (int i = 0; i < A_COLS; i++) {
        if (!(a.cols[i] = PyList_New(0))) goto done;
    }
    if (index_init(&a.ix, 1024)) goto done;
    r = atm_scan(&a, &tx_span, &notes_span, &notes, &has_notes);
    if (r == PY_ERR) goto done;
    if (r == GIVE_UP) { result = Py_NewRef(Py_None); goto done; }

    {
        Span spans[2];
        int ns = 0;
        if (has_notes && notes_span.off < tx_span.off) { spans[ns++] = notes_span; spans[ns++] = tx_span; }
        else { spans[ns++] = tx_span; if (has_notes) spans[ns++] = notes_span; }
        PyObject *head = head_of(a.c.base, view.len, spans, ns);
        PyObject *cols = PyTuple_New(A_COLS);
        PyObject *notes_obj = NULL;
        if (!head || !cols) { Py_XDECREF(head); Py_XDECREF(cols); goto done; }
        for (int i = 0; i < A_COLS; i++) { PyTuple_SET_ITEM(cols, i, a.cols[i]); a.cols[i] = NULL; }
        if (!has_notes) notes_obj = Py_NewRef(Py_None);
        else {
            PyObject *flows = PyDict_New(), *units = PyDict_New();
            int bad = flows == NULL || units == NULL;
            PyObject **tsns = &PyList_GET_ITEM(PyTuple_GET_ITEM(cols, A_TSN), 0);
            static const i64 zero[4] = {0, 0, 0, 0};
            for (Py_ssize_t i = 0; !bad && notes.count && i < a.t.n; i++) {
                if (memcmp(a.t.flow[i], zero, sizeof(zero)) == 0) continue;
                PyObject *f = flow_tuple(a.t.flow[i]);
                bad = !f || PyDict_SetItem(flows, tsns[i], f) < 0;
                Py_XDECREF(f);
            }
            for (Py_ssize_t i = 0; !bad && i < notes.unknown.n; i++) {
                Span *sp = &notes.unknown.tsn[i];
                PyObject *ts = ascii(a.c.base + sp->off, sp->len);
                PyObject *f = flow_tuple(notes.unknown.flow[i]);
                bad = !ts || !f || PyDict_SetItem(flows, ts, f) < 0;
                Py_XDECREF(ts);
                Py_XDECREF(f);
            }
            for (int i = 0; !bad && i < notes.nunits; i++) {
                PyObject *id = ascii(notes.units[i].id, notes.units[i].n);
                PyObject *v = PyLong_FromLongLong(notes.units[i].sum);
                bad = !id || !v || PyDict_SetItem(units, id, v) < 0;
                Py_XDECREF(id);
                Py_XDECREF(v);
            }
            if (!bad) notes_obj = Py_BuildValue("(n(nn)NN)", notes.count, notes_span.off,
                                                notes_span.off + notes_span.len, flows, units);
            else { Py_XDECREF(flows); Py_XDECREF(units); }
        }
        if (!notes_obj) { Py_DECREF(head); Py_DECREF(cols); goto done; }
        result = Py_BuildValue("(NNN)", head, cols, notes_obj);
    }
done:
    for (int i = 0; i < A_COLS; i++) Py_XDECREF(a.cols[i]);
    txs_free(&a.t);
    index_free(&a.ix);
    PyMem_Free(notes.unknown.tsn);
    PyMem_Free(notes.unknown.flow);
    index_free(&notes.unknown.ix);
    PyBuffer_Release(&view);
    return result;
}

/* ------------------------------------------------------------------------------------------ */
/* host-ledger/1 */

enum { H_REF, H_TSN, H_TIME, H_TYPE, H_CARD, H_AMOUNT, H_STATUS, H_COLS };

/* host_ref, tsn, time, type, card, amount, status in the usual layout, each value checked as it
 * is scanned; GIVE_UP: read the record the general way, which decides. */
static int host_template(Cur *c, const unsigned char **ref, Py_ssize_t *ref_n, const unsigned char **tsn,
                         Py_ssize_t *tsn_n, int *tsn_null, const unsigned char **time, Py_ssize_t *time_n,
                         int *is_w, const unsigned char **card, Py_ssize_t *card_n, i64 *amount, int *booked) {
    TRY(KEY(c, "{\"host_ref\":\""));
    TRY(run_in(c, PLAIN, 1, 32, ref, ref_n));
    TRY(KEY(c, ",\"tsn\":"));
    if (KEY(c, "null") == 0) *tsn_null = 1;
    else {
        TRY(KEY(c, "\""));
        TRY(run_in(c, TSNC, 1, 20, tsn, tsn_n));
    }
    TRY(KEY(c, ",\"time\":\""));
    TRY(run_in(c, PLAIN, 20, 64, time, time_n));
    if (!time_ok(*time, *time_n)) return GIVE_UP;
    TRY(KEY(c, ",\"type\":\""));
    if (KEY(c, "withdrawal\"") == 0) *is_w = 1;
    else if (KEY(c, "deposit\"") == 0) *is_w = 0;
    else return GIVE_UP;
    TRY(KEY(c, ",\"card\":\""));
    TRY(run_in(c, PLAIN, 12, 19, card, card_n));
    if (!card_ok(*card, *card_n)) return GIVE_UP;
    TRY(KEY(c, ",\"amount\":\""));
    TRY(money_in(c, amount));
    TRY(KEY(c, ",\"status\":\""));
    if (KEY(c, "booked\"") == 0) *booked = 1;
    else if (KEY(c, "reversed\"") == 0) *booked = 0;
    else return GIVE_UP;
    return KEY(c, "}");
}

static int host_transaction(Cur *c, PyObject **L) {
    const unsigned char *ref = NULL, *tsn = NULL, *time = NULL, *card = NULL, *s;
    Py_ssize_t ref_n = 0, tsn_n = 0, time_n = 0, card_n = 0, n;
    int is_w = 0, booked = 0, tsn_null = 0, seen = 0;
    i64 amount = 0;
    ws(c);
    const unsigned char *start = c->p;
    if (host_template(c, &ref, &ref_n, &tsn, &tsn_n, &tsn_null, &time, &time_n, &is_w, &card, &card_n,
                      &amount, &booked) == 0)
        goto commit;
    c->p = start;  /* another layout: the general way */
    ref = tsn = time = card = NULL;
    ref_n = tsn_n = time_n = card_n = 0;
    is_w = booked = tsn_null = 0;
    amount = 0;
    OtherKeys others;
    others.count = 0;
    TRY(expect(c, '{'));
    for (;;) {
        const unsigned char *k; Py_ssize_t kn;
        TRY(pstr(c, &k, &kn));
        TRY(expect(c, ':'));
        int f = key_is(k, kn, "host_ref", 8) ? 0 : key_is(k, kn, "tsn", 3) ? 1 : key_is(k, kn, "time", 4) ? 2
              : key_is(k, kn, "type", 4) ? 3 : key_is(k, kn, "card", 4) ? 4 : key_is(k, kn, "amount", 6) ? 5
              : key_is(k, kn, "status", 6) ? 6 : -1;
        if (f < 0) { TRY(other_key(&others, k, kn)); TRY(skip_value(c, 1, 2)); }
        else {
            if (seen & (1 << f)) return GIVE_UP;
            seen |= 1 << f;
            switch (f) {
            case 0: TRY(pstr(c, &ref, &ref_n)); if (ref_n < 1 || ref_n > 32) return GIVE_UP; break;
            case 1:
                TRY(pstr_or_null(c, &tsn, &tsn_n, &tsn_null));
                if (!tsn_null && !tsn_ok(tsn, tsn_n)) return GIVE_UP;
                break;
            case 2: TRY(pstr(c, &time, &time_n)); if (!time_ok(time, time_n)) return GIVE_UP; break;
            case 3:
                TRY(pstr(c, &s, &n));
                if (key_is(s, n, "withdrawal", 10)) is_w = 1;
                else if (key_is(s, n, "deposit", 7)) is_w = 0;
                else return GIVE_UP;
                break;
            case 4: TRY(pstr(c, &card, &card_n)); if (!card_ok(card, card_n)) return GIVE_UP; break;
            case 5: TRY(pstr(c, &s, &n)); TRY(money(s, n, &amount)); break;
            case 6:
                TRY(pstr(c, &s, &n));
                if (key_is(s, n, "booked", 6)) booked = 1;
                else if (key_is(s, n, "reversed", 8)) booked = 0;
                else return GIVE_UP;
                break;
            }
        }
        ws(c);
        if (c->p < c->end && *c->p == ',') { c->p++; continue; }
        TRY(expect(c, '}'));
        break;
    }
    if (seen != 0x7f) return GIVE_UP;
commit:
    TRY(put(L[H_REF], ascii(ref, ref_n)));
    if (tsn_null) { Py_INCREF(Py_None); TRY(put(L[H_TSN], Py_None)); }
    else TRY(put(L[H_TSN], ascii(tsn, tsn_n)));
    TRY(put(L[H_TIME], ascii(time, time_n)));
    TRY(put(L[H_TYPE], Py_NewRef(is_w ? S_withdrawal : S_deposit)));
    TRY(put(L[H_CARD], ascii(card, card_n)));
    TRY(put(L[H_AMOUNT], PyLong_FromLongLong(amount)));
    TRY(put(L[H_STATUS], Py_NewRef(booked ? S_booked : S_reversed)));
    return 0;
}

static int host_scan(Cur *c, PyObject **L, Span *tx_span) {
    int have_tx = 0;
    TRY(expect(c, '{'));
    ws(c);
    if (c->p < c->end && *c->p == '}') return GIVE_UP;
    for (;;) {
        const unsigned char *k;
        Py_ssize_t kn;
        TRY(top_key(c, &k, &kn));
        if (key_is(k, kn, "transactions", 12)) {
            if (have_tx) return GIVE_UP;
            have_tx = 1;
            tx_span->off = c->p - c->base;
            TRY(expect(c, '['));
            ws(c);
            if (c->p < c->end && *c->p == ']') c->p++;
            else for (;;) {
                TRY(host_transaction(c, L));
                ws(c);
                if (c->p < c->end && *c->p == ',') { c->p++; continue; }
                TRY(expect(c, ']'));
                break;
            }
            tx_span->len = (c->p - c->base) - tx_span->off;
        } else {
            TRY(skip_value(c, 0, 1));
        }
        ws(c);
        if (c->p < c->end && *c->p == ',') { c->p++; continue; }
        TRY(expect(c, '}'));
        ws(c);
        if (c->p != c->end) return GIVE_UP;
        return have_tx ? 0 : GIVE_UP;
    }
}

PyDoc_STRVAR(scan_host_doc,
"scan_host(buffer) -> None | (head, columns)\n\n"
"head: the document with 'transactions' replaced by []; columns: the seven transaction\n"
"columns in fastpath.HostTransactions.FIELDS order. None: use the general reader.");

static PyObject *scan_host(PyObject *self, PyObject *arg) {
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) return NULL;
    PyObject *L[H_COLS] = {0};
    PyObject *result = NULL;
    Cur c;
    c.base = c.p = view.buf;
    c.end = c.base + view.len;
    Span tx_span = {0, 0, 0};
    int r;
    for (int i = 0; i < H_COLS; i++) if (!(L[i] = PyList_New(0))) goto done;
    r = host_scan(&c, L, &tx_span);
    if (r == PY_ERR) goto done;
    if (r == GIVE_UP) { result = Py_NewRef(Py_None); goto done; }
    {
        PyObject *head = head_of(c.base, view.len, &tx_span, 1);
        PyObject *cols = PyTuple_New(H_COLS);
        if (!head || !cols) { Py_XDECREF(head); Py_XDECREF(cols); goto done; }
        for (int i = 0; i < H_COLS; i++) { PyTuple_SET_ITEM(cols, i, L[i]); L[i] = NULL; }
        result = Py_BuildValue("(NN)", head, cols);
    }
done:
    for (int i = 0; i < H_COLS; i++) Py_XDECREF(L[i]);
    PyBuffer_Release(&view);
    return result;
}


/* ------------------------------------------------------------------------------------------ */

static PyMethodDef methods[] = {
    {"scan_atm", scan_atm, METH_O, scan_atm_doc},
    {"scan_host", scan_host, METH_O, scan_host_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_ledgerscan",
    .m_doc = "The clearing ledgers read in one pass of C (an optional accelerator of formats.py).",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC PyInit__ledgerscan(void) {
    for (int ch = 0x20; ch < 0x7f; ch++) PLAIN[ch] = ch != '"' && ch != '\\';
    for (int ch = 0; ch < 256; ch++) {
        int digit = ch >= '0' && ch <= '9', upper = ch >= 'A' && ch <= 'Z', lower = ch >= 'a' && ch <= 'z';
        SERIALC[ch] = digit || upper || ch == '?';
        TSNC[ch] = digit || upper || lower || ch == '-';
    }
    S_withdrawal = PyUnicode_InternFromString("withdrawal");
    S_deposit = PyUnicode_InternFromString("deposit");
    S_booked = PyUnicode_InternFromString("booked");
    S_reversed = PyUnicode_InternFromString("reversed");
    if (!S_withdrawal || !S_deposit || !S_booked || !S_reversed) return NULL;
    return PyModule_Create(&module);
}
