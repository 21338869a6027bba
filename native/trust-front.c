/*
 * The native front of `trust` (issue 20; docs/executable.md "The native front").
 *
 * A Node process costs about 23 ms before it runs a line of ours, so no `trust` written in
 * JavaScript can answer a warm `trust verify` in about the time of a bare `node` start. This
 * small program can: for a `trust verify` or `trust sign` that may go to the warm verifier
 * (cli/verify-daemon.ts, OCITRUST_VERIFY_DAEMON=on), it forwards the command line, the
 * environment, the working folder and the terminal facts to the verifier of this exact
 * environment and build, and prints its answer. It decides nothing: the verifier runs the whole
 * command, as `trust` does in a process of its own, and chooses the output and the exit code.
 *
 * For everything else, and whenever anything goes wrong before the answer is complete (no
 * verifier, a refusal, a malformed answer, an environment it cannot name), it replaces itself
 * with the Node `trust` it was built for (execv), which then behaves exactly as if it had been
 * called directly: it starts the verifier when there is none, or verifies in-process. Nothing is
 * printed before the whole answer arrived, so output is never doubled.
 *
 * It mirrors cli/verify-daemon-client.ts: the same eligibility (daemonEligible), the same
 * private cache folder (cli/cache-dir.ts codeCacheDir, isPrivateFolder) and the same socket
 * name (envName: FNV-1a over the build, the node binary, its version and the sorted
 * environment, as UTF-8 bytes). test/integration/native-front.test.ts checks it against the bin.
 *
 * Built by scripts/build-front.mjs, which defines TRUST_NODE (the node binary), TRUST_NODE_VERSION
 * (its process.version), TRUST_BIN (the bundle's trust.js), TRUST_BUILD_ID (its build hash) and
 * TRUST_VERSION (the package version, which `trust --version` alone prints, as cli/main.ts does).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#if !defined(TRUST_NODE) || !defined(TRUST_NODE_VERSION) || !defined(TRUST_BIN) || !defined(TRUST_BUILD_ID) || !defined(TRUST_VERSION)
#error "build with scripts/build-front.mjs (it defines TRUST_NODE, TRUST_NODE_VERSION, TRUST_BIN, TRUST_BUILD_ID, TRUST_VERSION)"
#endif

extern char **environ;

/* The largest answer taken (a verify prints a few lines; a huge one is not ours). */
#define MAX_ANSWER (64u * 1024u * 1024u)
/* cli/verify-daemon-client.ts keeps socket paths to 100 bytes (Unix sockets allow 107). */
#define MAX_SOCKET_PATH 100

static int g_argc;
static char **g_argv;

/* Runs the Node `trust` with the same arguments and environment; returns only on failure. */
static void fall_back(void) {
  char **args = calloc((size_t)g_argc + 2, sizeof *args);
  if (args) {
    args[0] = TRUST_NODE;
    args[1] = TRUST_BIN;
    for (int i = 1; i < g_argc; i++) args[i + 1] = g_argv[i];
    execv(TRUST_NODE, args);
  }
  fprintf(stderr, "trust: cannot run Node.js at %s: %s; rebuild the native front (npm run build:front) after moving or upgrading Node [CLI_FRONT_NO_NODE]\n",
          TRUST_NODE, strerror(errno));
  exit(3);
}

/* A growing byte buffer; any allocation failure falls back to the Node `trust`. */
struct buf {
  char *p;
  size_t n, cap;
};

static void put(struct buf *b, const void *s, size_t n) {
  if (b->n + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->n + n + 1) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) fall_back();
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
  b->p[b->n] = 0;
}

static void puts_(struct buf *b, const char *s) { put(b, s, strlen(s)); }

/* A JSON string. Bytes ≥ 0x80 go as they are (the verifier decodes UTF-8, as Node decodes
 * the environment); whatever it decodes differently makes the environments differ, a refusal. */
static void put_json_n(struct buf *b, const char *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  put(b, "\"", 1);
  for (const unsigned char *p = (const unsigned char *)s, *end = p + n; p < end; p++) {
    if (*p == '"' || *p == '\\') {
      char e[2] = {'\\', (char)*p};
      put(b, e, 2);
    } else if (*p < 0x20) {
      char e[6] = {'\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15]};
      put(b, e, 6);
    } else {
      put(b, p, 1);
    }
  }
  put(b, "\"", 1);
}

static void put_json(struct buf *b, const char *s) { put_json_n(b, s, strlen(s)); }

/* Orders "name=value" entries by name alone, as Object.keys(env).sort() does for ASCII names:
 * the name ends at its first '=', before any character ("A" < "A0", though '0' < '='). */
static int cmp_name(const void *a, const void *b) {
  const unsigned char *x = *(const unsigned char *const *)a, *y = *(const unsigned char *const *)b;
  for (;; x++, y++) {
    int cx = *x == '=' ? -1 : *x, cy = *y == '=' ? -1 : *y;
    if (cx != cy) return cx < cy ? -1 : 1;
    if (cx == -1) return 0;
  }
}

/* The environment sorted by name. Returns NULL when a name is not plain ASCII, an entry has no
 * '=' or a name repeats: Node may see those otherwise. */
static char **sorted_env(size_t *count) {
  size_t n = 0;
  while (environ[n]) n++;
  char **v = malloc((n + 1) * sizeof *v);
  if (!v) return NULL;
  for (size_t i = 0; i < n; i++) {
    const char *eq = strchr(environ[i], '=');
    if (!eq || eq == environ[i]) return free(v), NULL;
    for (const char *c = environ[i]; c < eq; c++)
      if ((unsigned char)*c >= 0x80) return free(v), NULL;
    v[i] = environ[i];
  }
  qsort(v, n, sizeof *v, cmp_name);
  for (size_t i = 1; i < n; i++)
    if (cmp_name(&v[i - 1], &v[i]) == 0) return free(v), NULL;
  v[n] = NULL;
  *count = n;
  return v;
}

/* cli/verify-daemon-client.ts envName: FNV-1a, 2 × 32 bits, over the UTF-8 bytes of
 * [build, node, version, ...sorted "name=value"] joined by NUL. */
struct fnv {
  uint32_t h1, h2;
};

static void fnv_bytes(struct fnv *h, const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    uint32_t c = (unsigned char)s[i];
    h->h1 = (h->h1 ^ c) * 0x01000193u;
    h->h2 = (h->h2 ^ c) * (0x01000193u + 2u);
  }
}

static void env_name(char **env, size_t n, char out[17]) {
  struct fnv h = {0x811c9dc5u, 0x01000193u ^ 0x5bd1e995u};
  const char *head[] = {TRUST_BUILD_ID, TRUST_NODE, TRUST_NODE_VERSION};
  for (size_t i = 0; i < 3; i++) {
    if (i) fnv_bytes(&h, "", 1);
    fnv_bytes(&h, head[i], strlen(head[i]));
  }
  for (size_t i = 0; i < n; i++) {
    fnv_bytes(&h, "", 1);
    fnv_bytes(&h, env[i], strlen(env[i]));
  }
  snprintf(out, 17, "%08x%08x", h.h1, h.h2);
}

/* cli/cache-dir.ts codeCacheDir: $XDG_CACHE_HOME/ocitrust, else ~/.cache/ocitrust (absolute only). */
static int cache_dir(struct buf *b) {
  const char *off = getenv("OCITRUST_CODE_CACHE");
  if (off && strcmp(off, "off") == 0) return 0;
  const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
  if (xdg && xdg[0] == '/') {
    puts_(b, xdg);
    puts_(b, "/ocitrust");
  } else if (home && home[0] == '/') {
    puts_(b, home);
    puts_(b, "/.cache/ocitrust");
  } else {
    return 0;
  }
  return 1;
}

/* cli/cache-dir.ts isPrivateFolder(dir, OTHERS_ANY): a folder (not a link) of this user that no
 * one else may enter. */
static int private_folder(const char *dir) {
  struct stat st;
  return lstat(dir, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == getuid() && (st.st_mode & 077) == 0;
}

/* cli/verify-daemon-client.ts daemonEligible. */
static int eligible(void) {
  const char *on = getenv("OCITRUST_VERIFY_DAEMON");
  if (!on || strcmp(on, "on") != 0 || getenv("OCITRUST_VERIFY_DAEMON_SOCKET")) return 0;
  if (g_argc < 2 || (strcmp(g_argv[1], "verify") != 0 && strcmp(g_argv[1], "sign") != 0)) return 0;
  for (int i = 1; i < g_argc; i++)
    if (strcmp(g_argv[i], "--offline") == 0 || strcmp(g_argv[i], "-") == 0) return 0;
  return 1;
}

/* ---- The answer: {"exit":N,"out":[[1|2,"text"],…]}, as JSON.stringify writes it. ---- */

struct item {
  int fd;
  struct buf text;
};

struct answer {
  int exit;
  int have_exit, have_out;
  struct item *items;
  size_t count, cap;
};

struct cursor {
  const char *p, *end;
};

static void ws(struct cursor *c) {
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\n' || *c->p == '\r' || *c->p == '\t')) c->p++;
}

static int eat(struct cursor *c, char ch) {
  ws(c);
  if (c->p < c->end && *c->p == ch) return c->p++, 1;
  return 0;
}

static int hex4(struct cursor *c, unsigned *v) {
  if (c->end - c->p < 4) return 0;
  *v = 0;
  for (int i = 0; i < 4; i++) {
    char ch = *c->p++;
    unsigned d = ch >= '0' && ch <= '9' ? (unsigned)(ch - '0') : ch >= 'a' && ch <= 'f' ? (unsigned)(ch - 'a' + 10) : ch >= 'A' && ch <= 'F' ? (unsigned)(ch - 'A' + 10) : 16u;
    if (d > 15) return 0;
    *v = *v * 16 + d;
  }
  return 1;
}

static void put_utf8(struct buf *b, unsigned cp) {
  char u[4];
  if (cp < 0x80) {
    u[0] = (char)cp;
    put(b, u, 1);
  } else if (cp < 0x800) {
    u[0] = (char)(0xc0 | cp >> 6);
    u[1] = (char)(0x80 | (cp & 0x3f));
    put(b, u, 2);
  } else if (cp < 0x10000) {
    u[0] = (char)(0xe0 | cp >> 12);
    u[1] = (char)(0x80 | (cp >> 6 & 0x3f));
    u[2] = (char)(0x80 | (cp & 0x3f));
    put(b, u, 3);
  } else {
    u[0] = (char)(0xf0 | cp >> 18);
    u[1] = (char)(0x80 | (cp >> 12 & 0x3f));
    u[2] = (char)(0x80 | (cp >> 6 & 0x3f));
    u[3] = (char)(0x80 | (cp & 0x3f));
    put(b, u, 4);
  }
}

/* A JSON string into `out`, as UTF-8; a lone surrogate becomes U+FFFD, as Node writes it. */
static int string(struct cursor *c, struct buf *out) {
  if (!eat(c, '"')) return 0;
  put(out, "", 0);
  while (c->p < c->end) {
    unsigned char ch = (unsigned char)*c->p++;
    if (ch == '"') return 1;
    if (ch < 0x20) return 0;
    if (ch != '\\') {
      put(out, &ch, 1);
      continue;
    }
    if (c->p >= c->end) return 0;
    char e = *c->p++;
    const char *simple = strchr("\"\\/bfnrt", e);
    if (e && simple) {
      static const char to[] = "\"\\/\b\f\n\r\t";
      put(out, &to[simple - "\"\\/bfnrt"], 1);
    } else if (e == 'u') {
      unsigned cp;
      if (!hex4(c, &cp)) return 0;
      if (cp >= 0xd800 && cp < 0xdc00 && c->end - c->p >= 6 && c->p[0] == '\\' && c->p[1] == 'u') {
        struct cursor look = {c->p + 2, c->end};
        unsigned lo;
        if (hex4(&look, &lo) && lo >= 0xdc00 && lo < 0xe000) {
          c->p = look.p;
          cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        }
      }
      put_utf8(out, cp >= 0xd800 && cp < 0xe000 ? 0xfffd : cp);
    } else {
      return 0;
    }
  }
  return 0;
}

static int integer(struct cursor *c, long *v) {
  ws(c);
  int neg = c->p < c->end && *c->p == '-';
  if (neg) c->p++;
  if (c->p >= c->end || *c->p < '0' || *c->p > '9') return 0;
  long n = 0;
  while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
    n = n * 10 + (*c->p++ - '0');
    if (n > 1000000) return 0;
  }
  *v = neg ? -n : n;
  return 1;
}

static int out_items(struct cursor *c, struct answer *a) {
  if (!eat(c, '[')) return 0;
  if (eat(c, ']')) return 1;
  do {
    if (a->count == a->cap) {
      size_t cap = a->cap ? a->cap * 2 : 8;
      struct item *items = realloc(a->items, cap * sizeof *items);
      if (!items) fall_back();
      a->items = items;
      a->cap = cap;
    }
    struct item *it = &a->items[a->count];
    memset(it, 0, sizeof *it);
    long fd;
    if (!eat(c, '[') || !integer(c, &fd) || (fd != 1 && fd != 2) || !eat(c, ',') || !string(c, &it->text) || !eat(c, ']')) return 0;
    it->fd = (int)fd;
    a->count++;
  } while (eat(c, ','));
  return eat(c, ']');
}

/* True for a complete answer with an exit code and output; anything else (a refusal among
 * them) is false. */
static int parse_answer(const char *s, size_t n, struct answer *a) {
  struct cursor c = {s, s + n};
  if (!eat(&c, '{')) return 0;
  if (!eat(&c, '}')) {
    do {
      struct buf key = {0};
      if (!string(&c, &key) || !eat(&c, ':')) return 0;
      if (strcmp(key.p, "exit") == 0 && !a->have_exit) {
        long v;
        if (!integer(&c, &v) || v < 0 || v > 255) return 0;
        a->exit = (int)v;
        a->have_exit = 1;
      } else if (strcmp(key.p, "out") == 0 && !a->have_out) {
        if (!out_items(&c, a)) return 0;
        a->have_out = 1;
      } else {
        return 0;
      }
      free(key.p);
    } while (eat(&c, ','));
    if (!eat(&c, '}')) return 0;
  }
  ws(&c);
  return c.p == c.end && a->have_exit && a->have_out;
}

/* ---- The exchange. ---- */

static int send_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return 0;
    p += w;
    n -= (size_t)w;
  }
  return 1;
}

static int read_all(int fd, struct buf *b) {
  char chunk[65536];
  for (;;) {
    ssize_t r = read(fd, chunk, sizeof chunk);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return 0;
    if (r == 0) return 1;
    if (b->n + (size_t)r > MAX_ANSWER) return 0;
    put(b, chunk, (size_t)r);
  }
}

/* Writes what it can; a closed reader (EPIPE) ends that stream quietly, as the Node `trust` does. */
static void write_out(int fd, const char *p, size_t n, int *closed) {
  while (n > 0 && !*closed) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      *closed = 1;
      return;
    }
    p += w;
    n -= (size_t)w;
  }
}

int main(int argc, char **argv) {
  g_argc = argc;
  g_argv = argv;
  if (argc == 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)) {
    if (puts(TRUST_VERSION) >= 0 && fflush(stdout) == 0) return 0;
    fall_back();
  }
  if (!eligible()) fall_back();

  struct buf path = {0};
  if (!cache_dir(&path) || !private_folder(path.p)) fall_back();
  size_t nenv = 0;
  char **env = sorted_env(&nenv);
  if (!env) fall_back();
  char name[17];
  env_name(env, nenv, name);
  puts_(&path, "/verify-");
  puts_(&path, name);
  puts_(&path, ".sock");
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (path.n > MAX_SOCKET_PATH || path.n >= sizeof addr.sun_path) fall_back();
  memcpy(addr.sun_path, path.p, path.n + 1);

  char *cwd = getcwd(NULL, 0);
  if (!cwd) fall_back();

  struct buf req = {0};
  puts_(&req, "{\"v\":1,\"argv\":[");
  for (int i = 1; i < argc; i++) {
    if (i > 1) puts_(&req, ",");
    put_json(&req, argv[i]);
  }
  puts_(&req, "],\"env\":{");
  for (size_t i = 0; i < nenv; i++) {
    const char *eq = strchr(env[i], '=');
    if (i) puts_(&req, ",");
    put_json_n(&req, env[i], (size_t)(eq - env[i]));
    puts_(&req, ":");
    put_json(&req, eq + 1);
  }
  puts_(&req, "},\"cwd\":");
  put_json(&req, cwd);
  puts_(&req, isatty(1) ? ",\"stdoutTTY\":true" : ",\"stdoutTTY\":false");
  puts_(&req, isatty(2) ? ",\"stderrTTY\":true}\n" : ",\"stderrTTY\":false}\n");

  int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (sock < 0) fall_back();
  if (connect(sock, (struct sockaddr *)&addr, sizeof addr) != 0) {
    close(sock);
    fall_back();
  }
  struct buf reply = {0};
  int ok = send_all(sock, req.p, req.n) && read_all(sock, &reply);
  close(sock);
  struct answer a = {0};
  if (!ok || !reply.p || !parse_answer(reply.p, reply.n, &a)) fall_back();

  /* From here on the answer is the result: a reader that went away (EPIPE) ends its stream,
   * and the exit code is still the verifier's, as the Node `trust` exits on a closed pipe. */
  signal(SIGPIPE, SIG_IGN);
  int closed[3] = {0, 0, 0};
  for (size_t i = 0; i < a.count; i++) write_out(a.items[i].fd, a.items[i].text.p ? a.items[i].text.p : "", a.items[i].text.n, &closed[a.items[i].fd]);
  const char *debug = getenv("OCITRUST_DEBUG");
  if (debug && strcmp(debug, "1") == 0) {
    struct buf line = {0};
    puts_(&line, "trust: debug: answered by the verify daemon at ");
    puts_(&line, path.p);
    puts_(&line, " (native front)\n");
    write_out(2, line.p, line.n, &closed[2]);
  }
  return a.exit;
}
