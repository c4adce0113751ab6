/**
 * `kscope -d` AST dump: an indented tree, one node per line (two spaces per level), children in source order.
 */
import { children, type Node } from './ast.js';

/** A string literal's bytes as printable text: `"..."` with C escapes for quotes, backslashes and non-printables. */
export function quoteBytes(value: string): string {
  let out = '"';
  for (const ch of value) {
    const c = ch.charCodeAt(0);
    const esc: Record<string, string> = { '\n': '\\n', '\t': '\\t', '\r': '\\r', '"': '\\"', '\\': '\\\\' };
    if (esc[ch]) out += esc[ch];
    else if (c < 0x20 || c >= 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

function label(n: Node): string {
  switch (n.kind) {
    case 'program':
      return n.shebang ? `program ${n.shebang}` : 'program';
    case 'c_preprocessor':
    case 'c_definition':
      return `${n.kind} ${JSON.stringify(n.text)}`;
    case 'c_typedef':
    case 'c_named':
    case 'c_enumerator':
      return `${n.kind} ${n.name}`;
    case 'c_tagged':
      return `c_tagged ${n.tag}${n.name ? ` ${n.name}` : ''}${n.packed ? ' packed' : ''}`;
    case 'c_member':
      return `c_member${n.name ? ` ${n.name}` : ''}${n.bits ? ' :' : ''}`;
    case 'config_entry': {
      const v = n.value;
      const text = typeof v === 'string' ? quoteBytes(v) : typeof v === 'object' ? v.ident : String(v);
      return `config_entry ${n.key} = ${text}`;
    }
    case 'attach_point':
      return `attach_point ${n.raw}`;
    case 'macro':
    case 'subprog':
      return `${n.kind} ${n.name}`;
    case 'map_decl':
      return `map_decl ${n.mapType}(${n.maxEntries})`;
    case 'import':
      return `import ${quoteBytes(n.path)}`;
    case 'assign':
      return `assign ${n.op ?? ''}=`;
    case 'int':
      return `int ${n.value}`;
    case 'string':
      return `string ${quoteBytes(n.value)}`;
    case 'bool':
      return `bool ${n.value}`;
    case 'builtin':
    case 'ident':
    case 'variable':
    case 'map':
    case 'call':
      return `${n.kind} ${n.name}`;
    case 'positional':
      return `positional $${n.index}`;
    case 'binary':
    case 'unary':
      return `${n.kind} ${n.op}`;
    case 'incdec':
      return `incdec ${n.prefix ? 'pre' : 'post'}${n.op}`;
    case 'ternary':
      return n.then ? 'ternary' : 'ternary ?:';
    case 'field':
      return `field ${n.arrow ? '->' : '.'}${n.field}`;
    case 'tuple_index':
      return `tuple_index .${n.index}`;
    case 'record_field':
      return `record_field ${n.name}`;
    case 'offsetof':
      return `offsetof ${n.fields.join('.')}`;
    case 'named_type':
      return `named_type ${n.tag ? `${n.tag} ` : ''}${n.name}`;
    case 'array_type':
      return `array_type [${n.length ?? ''}]`;
    default:
      return n.kind;
  }
}

/** Renders a tree (normally a Program) for `kscope -d`; ends with a newline. */
export function printAst(node: Node): string {
  const lines: string[] = [];
  const walk = (n: Node, depth: number): void => {
    lines.push(`${'  '.repeat(depth)}${label(n)}`);
    for (const c of children(n)) walk(c, depth + 1);
  };
  walk(node, 0);
  return `${lines.join('\n')}\n`;
}
