/**
 * Test helper for network tools: a throw-away network namespace (loopback up, nothing else) and a small TCP peer
 * program run inside it, so tests cause real TCP traffic that no other process on the machine shares.
 *
 *   const ns = Netns.create();
 *   const srv = ns.server({ addr: '127.0.0.1', send: 1000 });   // listens, prints its port
 *   const cli = ns.client({ addr: '127.0.0.1', port: await srv.port, send: 5000 });
 *   cli.go(); await cli.done; ...; ns.delete();
 */
import { runTool } from './tools.js';
import { execFileSync } from 'node:child_process';
import { compileC, GATE, startGated, type GatedChild } from './cc.js';

/**
 * The peer. `server ADDR SEND [CONNS]`: listens on ADDR (any port; prints `port N`), then CONNS times (default 1)
 * accepts a connection, reads it until EOF, writes SEND bytes and closes it; prints `received N` (the total). `client ADDR PORT SEND [DELAYMS [CHUNK]]`: waits for "go",
 * connects (prints `connected LPORT`), writes SEND bytes in CHUNK-byte writes (default 16 KiB; smaller ones with
 * TCP_NODELAY, so each is its own segment) sleeping DELAYMS between them, shuts down its
 * write side, reads until EOF, prints `received N`, then waits for one more "go" (or stdin EOF) before exiting, so
 * its pid stays valid while a test reads the tool's output.
 */
const PEER = `${GATE}
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
static int sa(const char *addr, int port, struct sockaddr_storage *ss) {
  memset(ss, 0, sizeof *ss);
  if (strchr(addr, ':')) { struct sockaddr_in6 *s6 = (void *)ss; s6->sin6_family = AF_INET6; s6->sin6_port = htons(port);
    inet_pton(AF_INET6, addr, &s6->sin6_addr); return sizeof *s6; }
  struct sockaddr_in *s4 = (void *)ss; s4->sin_family = AF_INET; s4->sin_port = htons(port); inet_pton(AF_INET, addr, &s4->sin_addr);
  return sizeof *s4; }
static long drain(int fd) { char b[65536]; long n = 0, r; while ((r = read(fd, b, sizeof b)) > 0) n += r; return n; }
static void pour(int fd, long n, int delayms, long chunk) { static char b[16384]; while (n > 0) { long k = n < chunk ? n : chunk;
  long w = write(fd, b, k); if (w <= 0) exit(4); n -= w; if (delayms) usleep(delayms * 1000); } }
int main(int argc, char **argv) {
  setvbuf(stdout, 0, _IOLBF, 0);
  struct sockaddr_storage ss; socklen_t len;
  if (!strcmp(argv[1], "server")) {
    len = sa(argv[2], 0, &ss); int l = socket(ss.ss_family, SOCK_STREAM, 0), one = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(l, (void *)&ss, len) || listen(l, 8)) { perror("listen"); return 2; }
    getsockname(l, (void *)&ss, &len); printf("port %d\\n", ntohs(((struct sockaddr_in *)&ss)->sin_port));
    long n = 0; for (int i = argc > 4 ? atoi(argv[4]) : 1; i > 0; i--) { int c = accept(l, 0, 0); n += drain(c); pour(c, atol(argv[3]), 0, 16384); close(c); }
    printf("received %ld\\n", n); return 0;
  }
  len = sa(argv[2], atoi(argv[3]), &ss); wait_go();
  int c = socket(ss.ss_family, SOCK_STREAM, 0);
  if (connect(c, (void *)&ss, len)) { perror("connect"); return 2; }
  struct sockaddr_storage me; socklen_t ml = sizeof me; getsockname(c, (void *)&me, &ml);
  printf("connected %d\\n", ntohs(((struct sockaddr_in *)&me)->sin_port));
  long chunk = argc > 6 ? atol(argv[6]) : 16384; if (chunk < 16384) setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int));
  pour(c, atol(argv[4]), argc > 5 ? atoi(argv[5]) : 0, chunk); shutdown(c, SHUT_WR); printf("received %ld\\n", drain(c)); close(c);
  char b[3]; if (read(0, b, sizeof b) < 0) return 1; return 0;
}`;

export interface Server {
  child: GatedChild;
  pid: number;
  /** the port it listens on */
  port: Promise<number>;
  /** resolves with the bytes it received, once it has finished */
  received: Promise<number>;
}

export interface Client {
  child: GatedChild;
  pid: number;
  /** start connecting and sending */
  go(): void;
  /** resolves with the local port once connected */
  lport: Promise<number>;
  /** resolves with the bytes received back, once the exchange is over (the process then waits for go()/end()) */
  received: Promise<number>;
}

/** A network namespace with only loopback, deleted by delete(). */
export class Netns {
  private constructor(readonly name: string) {}

  /** Creates `kscope-test-<pid>-<n>` with lo up (IPv4 127.0.0.1 and IPv6 ::1). */
  static create(): Netns {
    const name = `kscope-test-${process.pid}-${Netns.seq++}`;
    execFileSync('ip', ['netns', 'add', name]);
    const ns = new Netns(name);
    ns.run(['ip', 'link', 'set', 'lo', 'up']);
    return ns;
  }
  private static seq = 0;

  /** Runs a command inside the namespace and returns its stdout (throws on failure, with its stderr). */
  run(argv: string[]): string {
    return execFileSync('ip', ['netns', 'exec', this.name, ...argv], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  }

  /** Starts a gated program inside the namespace (`ip netns exec` execs it, so the pid is the program's own). */
  start(bin: string, args: string[]): GatedChild {
    return startGated('ip', ['netns', 'exec', this.name, bin, ...args]);
  }

  /** A TCP server on `addr` that answers `conns` (default 1) connections with `send` bytes each after reading them to EOF. */
  server(o: { addr: string; send: number; conns?: number }): Server {
    const child = this.start(peer(), ['server', o.addr, String(o.send), String(o.conns ?? 1)]);
    const port = child.line().then((l) => Number(/^port (\d+)$/.exec(l)![1]));
    const received = port.then(() => child.line()).then((l) => Number(/^received (\d+)$/.exec(l)![1]));
    return { child, pid: child.pid, port, received };
  }

  /** A TCP client that, after go(), connects to addr:port, sends `send` bytes (optionally paced) and reads the answer. */
  client(o: { addr: string; port: number; send: number; delayMs?: number; chunk?: number }): Client {
    const child = this.start(peer(), ['client', o.addr, String(o.port), String(o.send), String(o.delayMs ?? 0), String(o.chunk ?? 16384)]);
    const lport = child.line().then((l) => Number(/^connected (\d+)$/.exec(l)?.[1] ?? NaN));
    const received = lport.then(() => child.line()).then((l) => Number(/^received (\d+)$/.exec(l)![1]));
    return { child, pid: child.pid, go: child.go, lport, received };
  }

  /**
   * Drops `percent`% of the namespace's TCP packets at random, to cause retransmits: tc netem where the kernel has
   * it, else an nftables rule on the input hook (a drop on output is reported to TCP as a local send error and the data
   * is simply sent again later, not retransmitted). Returns how, or undefined when neither works here (the caller
   * should skip, saying so).
   */
  lossy(percent: number): string | undefined {
    const attempts: [string, string[], string?][] = [
      ['tc netem', ['tc', 'qdisc', 'add', 'dev', 'lo', 'root', 'netem', 'loss', `${percent}%`]],
      ['nftables', ['nft', '-f', '-'], `table inet kscope_loss { chain in { type filter hook input priority 0; meta l4proto tcp numgen random mod 100 vmap { 0-${percent - 1} : drop, ${percent}-99 : accept }\n }\n}\n`],
    ];
    for (const [how, argv, input] of attempts) {
      try {
        execFileSync('ip', ['netns', 'exec', this.name, ...argv], { input, stdio: ['pipe', 'ignore', 'ignore'] });
        return how;
      } catch {
        // not available here: try the next way
      }
    }
    return undefined;
  }

  /** Undoes lossy(). */
  lossless(): void {
    for (const argv of [['tc', 'qdisc', 'del', 'dev', 'lo', 'root'], ['nft', 'delete', 'table', 'inet', 'kscope_loss']]) {
      try {
        execFileSync('ip', ['netns', 'exec', this.name, ...argv], { stdio: 'ignore' });
      } catch {
        // that way was not in use
      }
    }
  }

  /** Deletes the namespace (processes still inside keep running in it until they exit). */
  delete(): void {
    execFileSync('ip', ['netns', 'delete', this.name]);
  }
}

/** The compiled peer binary (its comm is the binary name: `p-` + 13 hex digits). */
export function peer(): string {
  return compileC(PEER);
}

/** The comm the kernel reports for the peer (file name truncated to 15 bytes). */
export function peerComm(): string {
  return peer().split('/').pop()!.slice(0, 15);
}

/**
 * Runs `kscope TOOL ARGS...` until its output contains `ready`, then awaits `during()`, sends SIGINT and resolves
 * with the exit code and everything printed (so a tool's final Ctrl-C report is included).
 */
export function traceDuring(tool: string, args: string[], ready: string, during: () => Promise<void>): Promise<{ code: number | null; out: string; err: string }> {
  return runTool(tool, args, during, { ready, settleMs: 0 });
}
