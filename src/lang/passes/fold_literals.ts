/**
 * Constant folding with bpftrace's literal semantics: integer literals are exact values in [-2^63, 2^64-1];
 * a result outside that range, a division by zero or a shift by a negative or >= 64 amount is an error.
 * Also folds string comparisons and concatenation, `"str" + N` (suffix), boolean logic and literal ternaries.
 * sizeof/offsetof and anything involving types are left to later passes.
 */
import { mapChildren, type Binary, type Expr, type Node, type Ternary, type Unary } from '../ast.js';
import { Diagnostic } from '../diagnostics.js';

const I64_MIN = -(1n << 63n);
const U64_MAX = (1n << 64n) - 1n;
const FLOW_ERROR = 'unable to fold literals due to overflow or underflow';

type Literal = Extract<Expr, { kind: 'int' | 'string' | 'bool' }>;

function isLiteral(e: Expr | undefined): e is Literal {
  return e !== undefined && (e.kind === 'int' || e.kind === 'string' || e.kind === 'bool');
}

function truthy(e: Literal): boolean {
  return e.kind === 'string' ? e.value.length > 0 : e.kind === 'int' ? e.value !== 0n : e.value;
}

function compare<T extends bigint | string | boolean>(op: string, l: T, r: T): boolean | undefined {
  switch (op) {
    case '==': return l === r;
    case '!=': return l !== r;
    case '<': return l < r;
    case '>': return l > r;
    case '<=': return l <= r;
    case '>=': return l >= r;
  }
  return undefined;
}

class Folder {
  readonly diagnostics: Diagnostic[] = [];

  node = (n: Node): Node => {
    mapChildren(n, this.node);
    switch (n.kind) {
      case 'binary':
        return this.binary(n) ?? n;
      case 'unary':
        return this.unary(n) ?? n;
      case 'ternary':
        return this.ternary(n) ?? n;
      default:
        return n;
    }
  };

  private error(message: string, n: Expr): undefined {
    this.diagnostics.push(Diagnostic.error(message, n.range));
    return undefined;
  }

  private int(n: Expr, value: bigint): Expr | undefined {
    if (value < I64_MIN || value > U64_MAX) return this.error(FLOW_ERROR, n);
    return { kind: 'int', range: n.range, value };
  }

  private bool(n: Expr, value: boolean): Expr {
    return { kind: 'bool', range: n.range, value };
  }

  private binary(n: Binary): Expr | undefined {
    const { left: l, right: r, op } = n;
    if (!isLiteral(l) || !isLiteral(r)) return undefined;
    if (op === '&&' || op === '||') return this.bool(n, op === '&&' ? truthy(l) && truthy(r) : truthy(l) || truthy(r));
    if (l.kind === 'string' || r.kind === 'string') return this.strings(n, l, r);
    if (l.kind === 'bool' || r.kind === 'bool') {
      if (l.kind !== r.kind || (op !== '==' && op !== '!=')) return undefined;
      return this.bool(n, (l.value === r.value) === (op === '=='));
    }
    const [a, b] = [l.value, r.value];
    const cmp = compare(op, a, b);
    if (cmp !== undefined) return this.bool(n, cmp);
    switch (op) {
      case '+': return this.int(n, a + b);
      case '-': return this.int(n, a - b);
      case '*': return this.int(n, a * b);
      case '/':
      case '%':
        if (b === 0n) return this.error(FLOW_ERROR, n);
        return this.int(n, op === '/' ? a / b : a % b);
      case '&': return this.int(n, a & b);
      case '|': return this.int(n, a | b);
      case '^': return this.int(n, a ^ b);
      case '<<':
      case '>>': {
        if (b < 0n || b >= 64n) return this.error(FLOW_ERROR, n);
        if (op === '>>') return this.int(n, a >> b);
        return this.int(n, a < 0n ? BigInt.asIntN(64, a << b) : BigInt.asUintN(64, a << b));
      }
    }
    return undefined;
  }

  private strings(n: Binary, l: Literal, r: Literal): Expr | undefined {
    if (l.kind === 'string' && r.kind === 'string') {
      const cmp = compare(n.op, l.value, r.value);
      if (cmp !== undefined) return this.bool(n, cmp);
      if (n.op === '+') return { kind: 'string', range: n.range, value: l.value + r.value };
      return this.error('illegal literal operation with strings', n);
    }
    // `"str" + N` is the string without its first N bytes (pointer arithmetic on a literal).
    const [s, i] = l.kind === 'string' ? [l, r] : [r, l];
    if (n.op !== '+' || s.kind !== 'string' || i.kind !== 'int' || i.value < 0n) return undefined;
    if (i.value >= BigInt(s.value.length)) this.diagnostics.push(Diagnostic.warning('literal string will always be empty', n.range));
    return { kind: 'string', range: n.range, value: s.value.slice(Number(i.value < BigInt(s.value.length) ? i.value : BigInt(s.value.length))) };
  }

  private unary(n: Unary): Expr | undefined {
    const e = n.operand;
    if (e.kind === 'bool' && n.op === '!') return this.bool(n, !e.value);
    if (e.kind !== 'int') return undefined;
    switch (n.op) {
      case '!':
        return this.bool(n, e.value === 0n);
      case '~':
        return this.int(n, e.value < 0n ? ~e.value : BigInt.asUintN(64, ~e.value));
      case '-':
        if (e.value > -I64_MIN) return this.error('negative value will underflow', n);
        return this.int(n, -e.value);
    }
    return undefined;
  }

  private ternary(n: Ternary): Expr | undefined {
    const then = n.then ?? n.cond;
    if (!isLiteral(n.cond) || !isLiteral(then) || !isLiteral(n.else)) return undefined;
    return truthy(n.cond) ? then : n.else;
  }
}

/** Folds literal expressions of `root` in place; returns the diagnostics (errors and warnings) found. */
export function foldLiterals(root: Node): Diagnostic[] {
  const folder = new Folder();
  folder.node(root);
  return folder.diagnostics;
}
