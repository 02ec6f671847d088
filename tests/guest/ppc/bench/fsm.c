/*
 * Benchmark "fsm": state machines over generated text.
 * 1. A C-like tokenizer written as a switch-driven state machine (identifiers, numbers with hex
 *    and decimal forms, strings with escapes, comments, operators), counting tokens per kind.
 * 2. A table-driven DFA (byte-class table x state table) recognising words of the form
 *    [a-z]+ing / [0-9]+\.[0-9]+ in the same text.
 * 3. A backtracking matcher for simple regular expressions (c . * ^ $) run on every line.
 * The text is regenerated with a different seed each pass. Prints the counts and a hash.
 */
#include "../lib/rt.h"

/* Start the writable data on a fresh page: ferrite drops every translated block of a page that is
 * written, so data sharing a page with hot code would measure retranslation, not compute (the
 * "mixedpage" benchmark measures that case on purpose). */
static u32 data_page_start __attribute__((aligned(4096), used)) = 1;

#define TEXT_LEN (48 * 1024)
#define PASSES 130

static char text[TEXT_LEN + 1];
static u32 rng_state = 0x2545f491;

static u32 rng(void)
{
    u32 x = rng_state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return rng_state = x;
}

static const char *const words[] = {
    "int", "return", "while", "sing", "ring", "thing", "going", "x", "counter", "if",
    "for", "nothing", "string", "value", "king", "main", "buffer", "ping", "len", "else",
};

/* Fills text with lines of pseudo-C: words, numbers, strings, comments and operators. */
static void gen_text(void)
{
    u32 n = 0;
    while (n < TEXT_LEN - 64) {
        u32 r = rng();
        const char *w;
        char tmp[24];
        switch (r % 11) {
        case 0: case 1: case 2: case 3:
            w = words[(r >> 8) % 20];
            break;
        case 4: { /* decimal, hex or fractional number */
            u32 v = (r >> 8) & 0xffff, k = 0;
            char d[12];
            int form = (r >> 4) % 3;
            if (form == 1) {
                tmp[k++] = '0';
                tmp[k++] = 'x';
                int i = 0;
                do d[i++] = "0123456789abcdef"[v & 15]; while (v >>= 4);
                while (i) tmp[k++] = d[--i];
            } else {
                int i = 0;
                do d[i++] = '0' + v % 10; while (v /= 10);
                while (i) tmp[k++] = d[--i];
                if (form == 2) {
                    tmp[k++] = '.';
                    tmp[k++] = '0' + (r >> 28) % 10;
                    tmp[k++] = '5';
                }
            }
            tmp[k] = 0;
            w = tmp;
            break;
        }
        case 5:
            w = (r >> 8) & 1 ? "\"a \\\"quoted\\\" str\"" : "\"\"";
            break;
        case 6:
            w = (r >> 8) & 1 ? "/* comment * here */" : "// line comment\n";
            break;
        case 7:
            w = "+=";
            break;
        case 8:
            w = (r >> 8) & 1 ? "==" : "->";
            break;
        case 9:
            w = ";\n";
            break;
        default:
            w = (r >> 8) & 1 ? "(" : ")";
            break;
        }
        while (*w)
            text[n++] = *w++;
        text[n++] = (r >> 20) % 7 ? ' ' : '\n';
    }
    text[n] = 0;
}

enum { T_IDENT, T_NUM, T_HEX, T_FLOAT, T_STR, T_COMMENT, T_OP, T_PUNCT, T_NKINDS };

static inline int is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static inline int is_digit(char c) { return c >= '0' && c <= '9'; }
static inline int is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f'); }

/* Switch-driven tokenizer; returns a hash over (kind, length) of every token. */
static u32 tokenize(const char *s, u32 *counts)
{
    enum { S_START, S_IDENT, S_NUM, S_ZERO, S_HEX, S_FRAC, S_STR, S_STR_ESC, S_SLASH,
           S_LINE_C, S_BLOCK_C, S_BLOCK_STAR } st = S_START;
    u32 h = 0, start = 0, i = 0;
    int kind = 0;
    for (;; i++) {
        char c = s[i];
    again:
        switch (st) {
        case S_START:
            if (!c)
                return h;
            start = i;
            if (is_alpha(c)) st = S_IDENT;
            else if (c == '0') st = S_ZERO;
            else if (is_digit(c)) st = S_NUM;
            else if (c == '"') st = S_STR;
            else if (c == '/') st = S_SLASH;
            else if (c == '+' || c == '=' || c == '-') {
                if (s[i + 1] == '=' || s[i + 1] == '>')
                    i++;
                kind = T_OP;
                goto emit;
            } else if (c == ';' || c == '(' || c == ')') {
                kind = T_PUNCT;
                goto emit;
            }
            continue;
        case S_IDENT:
            if (is_alpha(c) || is_digit(c)) continue;
            kind = T_IDENT;
            goto emit_back;
        case S_ZERO:
            if (c == 'x') { st = S_HEX; continue; }
            /* fall through */
        case S_NUM:
            if (is_digit(c)) { st = S_NUM; continue; }
            if (c == '.') { st = S_FRAC; continue; }
            kind = T_NUM;
            goto emit_back;
        case S_HEX:
            if (is_hex(c)) continue;
            kind = T_HEX;
            goto emit_back;
        case S_FRAC:
            if (is_digit(c)) continue;
            kind = T_FLOAT;
            goto emit_back;
        case S_STR:
            if (c == '\\') st = S_STR_ESC;
            else if (c == '"') { kind = T_STR; goto emit; }
            else if (!c) return h;
            continue;
        case S_STR_ESC:
            st = S_STR;
            continue;
        case S_SLASH:
            if (c == '/') st = S_LINE_C;
            else if (c == '*') st = S_BLOCK_C;
            else { kind = T_OP; goto emit_back; }
            continue;
        case S_LINE_C:
            if (c == '\n' || !c) { kind = T_COMMENT; goto emit_back; }
            continue;
        case S_BLOCK_C:
            if (c == '*') st = S_BLOCK_STAR;
            else if (!c) return h;
            continue;
        case S_BLOCK_STAR:
            if (c == '/') { kind = T_COMMENT; goto emit; }
            if (c != '*') st = S_BLOCK_C;
            continue;
        }
    emit:
        counts[kind]++;
        h = (h ^ (kind << 8 | (i + 1 - start))) * 0x01000193;
        st = S_START;
        continue;
    emit_back: /* the token ended before c: emit it, then rescan c */
        counts[kind]++;
        h = (h ^ (kind << 8 | (i - start))) * 0x01000193;
        st = S_START;
        goto again;
    }
}

/* Table-driven DFA: classes 0 other, 1 letter (not i/n/g), 2 'i', 3 'n', 4 'g', 5 digit, 6 '.'. */
static u8 cls[256];
static u8 delta[8][7];
enum { D_OUT, D_WORD, D_I, D_IN, D_ING, D_INT, D_DOT, D_FRAC };

static void dfa_init(void)
{
    for (int c = 'a'; c <= 'z'; c++)
        cls[c] = 1;
    cls['i'] = 2;
    cls['n'] = 3;
    cls['g'] = 4;
    for (int c = '0'; c <= '9'; c++)
        cls[c] = 5;
    cls['.'] = 6;
    for (int s = 0; s < 8; s++)
        for (int k = 0; k < 7; k++)
            delta[s][k] = D_OUT;
    /* words: any letter continues a word; track the suffix i-n-g */
    for (int s = D_OUT; s <= D_ING; s++) {
        delta[s][1] = D_WORD;
        delta[s][2] = D_I;
        delta[s][3] = s == D_I ? D_IN : D_WORD;
        delta[s][4] = s == D_IN ? D_ING : D_WORD;
    }
    delta[D_OUT][5] = D_INT;
    delta[D_INT][5] = D_INT;
    delta[D_INT][6] = D_DOT;
    delta[D_DOT][5] = D_FRAC;
    delta[D_FRAC][5] = D_FRAC;
}

static void dfa_run(const char *s, u32 *ing, u32 *frac)
{
    u32 st = D_OUT;
    for (; *s; s++) {
        u32 next = delta[st][cls[(u8)*s]];
        if (next == D_OUT) {
            if (st == D_ING)
                (*ing)++;
            else if (st == D_FRAC)
                (*frac)++;
        }
        st = next;
    }
}

/* Backtracking matcher for c . * ^ $ over [s, end). */
static int match_here(const char *re, const char *s, const char *end);

static int match_star(char c, const char *re, const char *s, const char *end)
{
    do {
        if (match_here(re, s, end))
            return 1;
    } while (s < end && (*s++ == c || c == '.'));
    return 0;
}

static int match_here(const char *re, const char *s, const char *end)
{
    for (;;) {
        if (!re[0])
            return 1;
        if (re[1] == '*')
            return match_star(re[0], re + 2, s, end);
        if (re[0] == '$' && !re[1])
            return s == end;
        if (s < end && (re[0] == '.' || re[0] == *s)) {
            re++;
            s++;
            continue;
        }
        return 0;
    }
}

static int match(const char *re, const char *s, const char *end)
{
    if (re[0] == '^')
        return match_here(re + 1, s, end);
    do {
        if (match_here(re, s, end))
            return 1;
    } while (s++ < end);
    return 0;
}

static const char *const patterns[] = { "in.*g ", "^int", "0x.*f", "x.*;$", "s.*i.*n.*g", "\"a" };

int main(void)
{
    u32 counts[T_NKINDS] = { 0 };
    u32 h = 0, ing = 0, frac = 0, lines = 0, matches[6] = { 0 };
    dfa_init();
    for (int p = 0; p < PASSES; p++) {
        gen_text();
        h = h * 31 + tokenize(text, counts);
        dfa_run(text, &ing, &frac);
        const char *line = text;
        while (*line) {
            const char *end = line;
            while (*end && *end != '\n')
                end++;
            lines++;
            for (int k = 0; k < 6; k++)
                matches[k] += match(patterns[k], line, end);
            line = *end ? end + 1 : end;
        }
    }
    printf_("fsm: tokens id %u num %u hex %u float %u str %u comment %u op %u punct %u hash %08x\n",
            counts[T_IDENT], counts[T_NUM], counts[T_HEX], counts[T_FLOAT], counts[T_STR],
            counts[T_COMMENT], counts[T_OP], counts[T_PUNCT], h);
    printf_("fsm: dfa ing %u frac %u; lines %u regex %u %u %u %u %u %u\n", ing, frac, lines,
            matches[0], matches[1], matches[2], matches[3], matches[4], matches[5]);
    return 0;
}
