/**
 * The syntax tree of a bpftrace program. Every node is a plain object with a `kind` discriminant and the
 * source `range` it was parsed from, so passes can switch on `kind` exhaustively and report precise errors.
 */
import type { Range } from './source.js';

interface NodeBase {
  range: Range;
}

// ---------------------------------------------------------------------------------------------- types

/** A type as written: `int32`, `struct task_struct`, `string`, a typedef name, ... */
export interface NamedType extends NodeBase {
  kind: 'named_type';
  name: string;
  /** Set for `struct X`, `union X`, `enum X`. */
  tag?: 'struct' | 'union' | 'enum';
}
/** `T *` */
export interface PointerType extends NodeBase {
  kind: 'pointer_type';
  pointee: TypeExpr;
}
/** `T[N]`, or `T[]` (length undefined). */
export interface ArrayType extends NodeBase {
  kind: 'array_type';
  element: TypeExpr;
  length?: number;
}
/** `typeof(expr)` or `typeof(type)`. */
export interface TypeofType extends NodeBase {
  kind: 'typeof';
  of: Expr | TypeExpr;
}
export type TypeExpr = NamedType | PointerType | ArrayType | TypeofType;

// ---------------------------------------------------------------------------------------------- expressions

/** Integer literal. `value` is in [-2^63, 2^64-1]: the parser gives non-negative values, folding may give negative ones. */
export interface IntLit extends NodeBase {
  kind: 'int';
  value: bigint;
}
/** String literal; `value` holds its bytes as a binary string (one char per byte: `Buffer.from(value, 'latin1')`). */
export interface StringLit extends NodeBase {
  kind: 'string';
  value: string;
}
export interface BoolLit extends NodeBase {
  kind: 'bool';
  value: boolean;
}
/** A builtin value such as `pid`, `comm`, `args`, `arg0`, `kstack` (see BUILTINS). */
export interface Builtin extends NodeBase {
  kind: 'builtin';
  name: string;
}
/** Any other bare identifier: enum constant, `#define` name, zero-argument macro, stack mode (`perf`), ... */
export interface Identifier extends NodeBase {
  kind: 'ident';
  name: string;
}
/** Scratch variable; `name` includes the `$`. */
export interface Variable extends NodeBase {
  kind: 'variable';
  name: string;
}
/** Positional parameter `$N` (N >= 1). */
export interface Positional extends NodeBase {
  kind: 'positional';
  index: number;
}
/** `$#`, the number of positional parameters. */
export interface ParamCount extends NodeBase {
  kind: 'param_count';
}
/** A map used without a key; `name` includes the `@` (the unnamed map is `@`). */
export interface MapRef extends NodeBase {
  kind: 'map';
  name: string;
}
/** `@m[key]`; several keys `@m[a, b]` become one tuple key. */
export interface MapAccess extends NodeBase {
  kind: 'map_access';
  map: MapRef;
  key: Expr;
}
/** Function call `f(args)`; a `typeof(...)` argument appears as a TypeofType. */
export interface Call extends NodeBase {
  kind: 'call';
  name: string;
  nameRange: Range;
  args: (Expr | TypeofType)[];
}

export type BinaryOp = '||' | '&&' | '|' | '^' | '&' | '==' | '!=' | '<' | '>' | '<=' | '>=' | '<<' | '>>' | '+' | '-' | '*' | '/' | '%';
/** Operators allowed in compound assignment `x op= e`. */
export type CompoundOp = '+' | '-' | '*' | '/' | '%' | '&' | '|' | '^' | '<<' | '>>';

export interface Binary extends NodeBase {
  kind: 'binary';
  op: BinaryOp;
  left: Expr;
  right: Expr;
  /** where the operator itself stands (absent for the binary of a compound assignment) */
  opRange?: Range;
}
/** `!e`, `~e`, `-e`, `*e` (dereference). */
export interface Unary extends NodeBase {
  kind: 'unary';
  op: '!' | '~' | '-' | '*';
  operand: Expr;
}
/** `++x`, `x++`, `--x`, `x--` on a variable or map. */
export interface IncDec extends NodeBase {
  kind: 'incdec';
  op: '++' | '--';
  prefix: boolean;
  operand: Variable | MapRef | MapAccess;
}
/** `&$x` or `&@m`. */
export interface AddressOf extends NodeBase {
  kind: 'addr_of';
  operand: Variable | MapRef;
}
/** `c ? a : b`; `a ?: b` has no `then` (the condition's value is used). */
export interface Ternary extends NodeBase {
  kind: 'ternary';
  cond: Expr;
  then?: Expr;
  else: Expr;
}
/** `e.field` or `e->field` (`arrow`); the two mean the same in current bpftrace. */
export interface FieldAccess extends NodeBase {
  kind: 'field';
  expr: Expr;
  field: string;
  arrow: boolean;
}
/** `e[i]`. */
export interface IndexAccess extends NodeBase {
  kind: 'index';
  expr: Expr;
  index: Expr;
}
/** `e.N` on a tuple. */
export interface TupleIndex extends NodeBase {
  kind: 'tuple_index';
  expr: Expr;
  index: number;
}
/** `(a, b)`, `(a,)`, `()`. */
export interface Tuple extends NodeBase {
  kind: 'tuple';
  elems: Expr[];
}
export interface RecordField extends NodeBase {
  kind: 'record_field';
  name: string;
  value: Expr;
}
/** `(a = 1, b = "x")`. */
export interface RecordLit extends NodeBase {
  kind: 'record';
  fields: RecordField[];
}
/** `(type)e`. */
export interface Cast extends NodeBase {
  kind: 'cast';
  type: TypeExpr;
  expr: Expr;
}
/** `sizeof(type)` or `sizeof(expr)`; a bare unknown identifier is an Identifier (typedef or value, decided later). */
export interface Sizeof extends NodeBase {
  kind: 'sizeof';
  arg: TypeExpr | Expr;
}
/** `offsetof(type-or-expr, a.b.c)`. */
export interface Offsetof extends NodeBase {
  kind: 'offsetof';
  arg: TypeExpr | Expr;
  fields: string[];
}
/** `typeinfo(type-or-expr)` (unstable upstream). */
export interface Typeinfo extends NodeBase {
  kind: 'typeinfo';
  arg: TypeExpr | Expr;
}
/** `comptime e`: must be evaluated at compile time. */
export interface Comptime extends NodeBase {
  kind: 'comptime';
  expr: Expr;
}
/** `{ stmts; value }` used as a value. */
export interface BlockExpr extends NodeBase {
  kind: 'block_expr';
  block: Block;
}
/** `if c { ... } else { ... }` used as a value (arms' trailing expressions are the values). */
export interface IfExpr extends NodeBase {
  kind: 'if_expr';
  cond: Expr;
  then: Block;
  else?: Block | IfExpr;
}

export type Expr =
  | IntLit
  | StringLit
  | BoolLit
  | Builtin
  | Identifier
  | Variable
  | Positional
  | ParamCount
  | MapRef
  | MapAccess
  | Call
  | Binary
  | Unary
  | IncDec
  | AddressOf
  | Ternary
  | FieldAccess
  | IndexAccess
  | TupleIndex
  | Tuple
  | RecordLit
  | Cast
  | Sizeof
  | Offsetof
  | Typeinfo
  | Comptime
  | BlockExpr
  | IfExpr;

// ---------------------------------------------------------------------------------------------- statements

/** `{ stmts }`; `value` is a trailing expression without `;` (only kept where a block yields a value). */
export interface Block extends NodeBase {
  kind: 'block';
  stmts: Stmt[];
  value?: Expr;
}
export interface ExprStmt extends NodeBase {
  kind: 'expr_stmt';
  expr: Expr;
}
/** `target = value` or, with `op`, `target op= value`. */
export interface Assign extends NodeBase {
  kind: 'assign';
  target: Variable | MapRef | MapAccess;
  op?: CompoundOp;
  value: Expr;
}
/** `let $x [: type] [= value];` */
export interface VarDecl extends NodeBase {
  kind: 'var_decl';
  variable: Variable;
  type?: TypeExpr;
  value?: Expr;
}
/** `_ = expr;` (evaluate and ignore, silencing "discarded" warnings). */
export interface Discard extends NodeBase {
  kind: 'discard';
  expr: Expr;
}
export interface If extends NodeBase {
  kind: 'if';
  cond: Expr;
  then: Block;
  else?: Block | If;
}
export interface While extends NodeBase {
  kind: 'while';
  cond: Expr;
  body: Block;
}
export interface Unroll extends NodeBase {
  kind: 'unroll';
  count: Expr;
  body: Block;
}
/** `for ($kv : @map) { }` */
export interface ForMap extends NodeBase {
  kind: 'for_map';
  variable: Variable;
  map: MapRef;
  body: Block;
}
/** `for ($i : start..end) { }` (end exclusive). */
export interface ForRange extends NodeBase {
  kind: 'for_range';
  variable: Variable;
  start: Expr;
  end: Expr;
  body: Block;
}
export interface Return extends NodeBase {
  kind: 'return';
  value?: Expr;
}
export interface Break extends NodeBase {
  kind: 'break';
}
export interface Continue extends NodeBase {
  kind: 'continue';
}
/** `import "path";` (also allowed at the top of the program, see Program.imports). */
export interface Import extends NodeBase {
  kind: 'import';
  path: string;
}

export type Stmt = Block | ExprStmt | Assign | VarDecl | Discard | If | While | Unroll | ForMap | ForRange | Return | Break | Continue | Import;

// ---------------------------------------------------------------------------------------------- top level

/** A `#include`/`#define`/... line, kept as raw text. */
export interface CPreprocessor extends NodeBase {
  kind: 'c_preprocessor';
  text: string;
}
/** A top-level C struct/union/enum definition (`text` is its source). */
export interface CDefinition extends NodeBase {
  kind: 'c_definition';
  text: string;
  type: CTaggedType;
}
/** `typedef TYPE name;` (one node per declarator of a typedef line). */
export interface CTypedef extends NodeBase {
  kind: 'c_typedef';
  name: string;
  type: CType;
}

/** A base type or typedef name in C: `int`, `unsigned long`, `u32`, `void` (the specifier words, normalised). */
export interface CNamedType extends NodeBase {
  kind: 'c_named';
  name: string;
}
/** `struct|union|enum [name]`, a reference, or a definition when it has `members`/`enumerators`. */
export interface CTaggedType extends NodeBase {
  kind: 'c_tagged';
  tag: 'struct' | 'union' | 'enum';
  name?: string;
  nameRange?: Range;
  members?: CMember[];
  enumerators?: CEnumerator[];
  /** `__attribute__((packed))` */
  packed?: boolean;
  /** `__attribute__((aligned(N)))` */
  aligned?: Expr;
}
export interface CPointerType extends NodeBase {
  kind: 'c_pointer';
  to: CType;
}
/** `T name[N]`; `length` undefined for `[]`. */
export interface CArrayType extends NodeBase {
  kind: 'c_array';
  element: CType;
  length?: Expr;
}
/** A function type (its parameters are not kept: only pointers to functions are useful in a definition). */
export interface CFunctionType extends NodeBase {
  kind: 'c_function';
  returns: CType;
}
export type CType = CNamedType | CTaggedType | CPointerType | CArrayType | CFunctionType;
/** A struct/union member; no name for an anonymous struct/union member or an unnamed bitfield. */
export interface CMember extends NodeBase {
  kind: 'c_member';
  name?: string;
  type: CType;
  /** bitfield width */
  bits?: Expr;
}
export interface CEnumerator extends NodeBase {
  kind: 'c_enumerator';
  name: string;
  value?: Expr;
}
export interface ConfigEntry extends NodeBase {
  kind: 'config_entry';
  key: string;
  /** A string, boolean, integer or bare identifier (e.g. `stack_mode = perf`). */
  value: string | boolean | bigint | { ident: string };
}
/** `config = { key = value; ... }` */
export interface Config extends NodeBase {
  kind: 'config';
  entries: ConfigEntry[];
}
/** One attach point as written (`raw`), e.g. `tracepoint:syscalls:sys_enter_openat`; see parser.splitAttachPoint. */
export interface AttachPoint extends NodeBase {
  kind: 'attach_point';
  raw: string;
}
/** `ap1, ap2 /predicate/ { body }` */
export interface Probe extends NodeBase {
  kind: 'probe';
  attachPoints: AttachPoint[];
  predicate?: Expr;
  body: Block;
}
/** `macro name($a, @m, ident) { ... }`; the body may end in a value. */
export interface Macro extends NodeBase {
  kind: 'macro';
  name: string;
  params: (Variable | MapRef | Identifier)[];
  body: Block;
}
export interface SubprogParam extends NodeBase {
  kind: 'subprog_param';
  variable: Variable;
  type: TypeExpr;
}
/** `fn name($a: type, ...): type { ... }` */
export interface Subprog extends NodeBase {
  kind: 'subprog';
  name: string;
  params: SubprogParam[];
  returnType: TypeExpr;
  body: Block;
}
/** `let @name = hash(N);` (`hash`, `lruhash`, `percpuhash`, `percpulruhash`, ... checked later). */
export interface MapDecl extends NodeBase {
  kind: 'map_decl';
  map: MapRef;
  mapType: string;
  maxEntries: bigint;
}

export interface Program extends NodeBase {
  kind: 'program';
  /** The `#!...` first line, if any. */
  shebang?: string;
  /** In source order. */
  cDefinitions: (CPreprocessor | CDefinition | CTypedef)[];
  config?: Config;
  imports: Import[];
  mapDecls: MapDecl[];
  macros: Macro[];
  subprogs: Subprog[];
  /** In declaration order (begin probes run in this order). */
  probes: Probe[];
}

export type Node =
  | Program
  | CPreprocessor
  | CDefinition
  | CTypedef
  | CType
  | CMember
  | CEnumerator
  | Config
  | ConfigEntry
  | AttachPoint
  | Probe
  | Macro
  | Subprog
  | SubprogParam
  | MapDecl
  | RecordField
  | Stmt
  | Expr
  | TypeExpr;

/** Names parsed as Builtin rather than Identifier (`argN` is matched separately by isBuiltin). */
export const BUILTINS: ReadonlySet<string> = new Set([
  'pid', 'tid', 'ppid', 'uid', 'gid', 'username', 'comm', 'pcomm', 'leader_comm', 'leader_tid', 'nsecs', 'elapsed',
  'jiffies', 'cpu', 'ncpus', 'numaid', 'cgroup', 'curtask', 'rand', 'usermode', 'cpid', 'has_cpid', 'kstack', 'ustack',
  'dw_ustack', 'func', 'probe', 'probetype', 'args', 'retval', 'ctx',
]);

/** Whether `name` is a builtin value: one of BUILTINS, `argN`, or an internal `__builtin_*` name. */
export function isBuiltin(name: string): boolean {
  return BUILTINS.has(name) || /^arg\d+$/.test(name) || name.startsWith('__builtin_');
}

/** Type names bpftrace knows without BTF (a cast to one of these is recognised as a cast syntactically). */
export const BUILTIN_TYPES: ReadonlySet<string> = new Set([
  'bool', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64', 'void', 'string', 'buffer', 'inet',
  'timestamp', 'macaddr_t', 'cgroup_path_t', 'username_t', 'min_t', 'max_t', 'sum_t', 'count_t', 'avg_t', 'stats_t',
  'umin_t', 'umax_t', 'usum_t', 'uavg_t', 'ustats_t',
]);

function isNode(v: unknown): v is Node {
  return typeof v === 'object' && v !== null && typeof (v as { kind?: unknown }).kind === 'string';
}

/** The direct child nodes of `node`, in property order (which the parser makes source order). */
export function children(node: Node): Node[] {
  const out: Node[] = [];
  for (const v of Object.values(node)) {
    if (isNode(v)) out.push(v);
    else if (Array.isArray(v)) for (const e of v) if (isNode(e)) out.push(e);
  }
  return out;
}

/** Replaces every direct child node of `node` in place with `fn(child)` (the replacement must fit the slot). */
export function mapChildren(node: Node, fn: (child: Node) => Node): void {
  const rec = node as unknown as Record<string, unknown>;
  for (const [k, v] of Object.entries(rec)) {
    if (isNode(v)) rec[k] = fn(v);
    else if (Array.isArray(v)) rec[k] = v.map((e: unknown) => (isNode(e) ? fn(e) : e));
  }
}
