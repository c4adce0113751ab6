/**
 * strftime(3) as glibc implements it in the C locale, plus bpftrace's sub-second extensions.
 * Used by bpftrace `time()`/`strftime()` and by the BCC tools' `HH:MM:SS` columns.
 */

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = [
  'January', 'February', 'March', 'April', 'May', 'June',
  'July', 'August', 'September', 'October', 'November', 'December',
];

/** Broken-down time (like `struct tm`, with a real year and the UTC offset in minutes east). */
interface Tm {
  year: number;
  mon: number; // 0..11
  mday: number;
  hour: number;
  min: number;
  sec: number;
  wday: number; // 0 = Sunday
  yday: number; // 0..365
  offset: number; // minutes east of UTC
  zone: string;
  epoch: number; // seconds since the epoch
}

function brokenDown(date: Date, utc: boolean): Tm {
  const g = utc
    ? { y: date.getUTCFullYear(), m: date.getUTCMonth(), d: date.getUTCDate(), H: date.getUTCHours(), M: date.getUTCMinutes(), S: date.getUTCSeconds(), w: date.getUTCDay() }
    : { y: date.getFullYear(), m: date.getMonth(), d: date.getDate(), H: date.getHours(), M: date.getMinutes(), S: date.getSeconds(), w: date.getDay() };
  const yday = Math.round((Date.UTC(g.y, g.m, g.d) - Date.UTC(g.y, 0, 1)) / 86400000);
  const offset = utc ? 0 : -date.getTimezoneOffset();
  return {
    year: g.y, mon: g.m, mday: g.d, hour: g.H, min: g.M, sec: g.S, wday: g.w, yday, offset,
    zone: utc ? 'UTC' : zoneName(date), epoch: Math.floor(date.getTime() / 1000),
  };
}

function zoneName(date: Date): string {
  const part = new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' }).formatToParts(date).find((p) => p.type === 'timeZoneName');
  return part?.value ?? '';
}

/** ISO 8601 week-based year and week number. */
function isoWeek(tm: Tm): { year: number; week: number } {
  const wdayMon = (tm.wday + 6) % 7; // Monday = 0
  const thursdayYday = tm.yday - wdayMon + 3;
  const daysIn = (y: number) => ((y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 366 : 365);
  if (thursdayYday < 0) {
    const prev = tm.year - 1;
    return { year: prev, week: Math.floor((thursdayYday + daysIn(prev)) / 7) + 1 };
  }
  if (thursdayYday >= daysIn(tm.year)) return { year: tm.year + 1, week: 1 };
  return { year: tm.year, week: Math.floor(thursdayYday / 7) + 1 };
}

type Field = { n: number; width: number; pad: '0' | ' ' } | string;

function field(tm: Tm, conv: string): Field | undefined {
  const num = (n: number, width: number, pad: '0' | ' ' = '0'): Field => ({ n, width, pad });
  const h12 = tm.hour % 12 === 0 ? 12 : tm.hour % 12;
  switch (conv) {
    case 'a': return DAYS[tm.wday]!.slice(0, 3);
    case 'A': return DAYS[tm.wday]!;
    case 'b': case 'h': return MONTHS[tm.mon]!.slice(0, 3);
    case 'B': return MONTHS[tm.mon]!;
    case 'c': return strftimeTm('%a %b %e %H:%M:%S %Y', tm);
    case 'C': return num(Math.floor(tm.year / 100), 2);
    case 'd': return num(tm.mday, 2);
    case 'D': case 'x': return strftimeTm('%m/%d/%y', tm);
    case 'e': return num(tm.mday, 2, ' ');
    case 'F': return strftimeTm('%Y-%m-%d', tm);
    case 'g': return num(isoWeek(tm).year % 100, 2);
    case 'G': return num(isoWeek(tm).year, 1);
    case 'H': return num(tm.hour, 2);
    case 'I': return num(h12, 2);
    case 'j': return num(tm.yday + 1, 3);
    case 'k': return num(tm.hour, 2, ' ');
    case 'l': return num(h12, 2, ' ');
    case 'm': return num(tm.mon + 1, 2);
    case 'M': return num(tm.min, 2);
    case 'n': return '\n';
    case 'p': return tm.hour < 12 ? 'AM' : 'PM';
    case 'P': return tm.hour < 12 ? 'am' : 'pm';
    case 'r': return strftimeTm('%I:%M:%S %p', tm);
    case 'R': return strftimeTm('%H:%M', tm);
    case 's': return num(tm.epoch, 1);
    case 'S': return num(tm.sec, 2);
    case 't': return '\t';
    case 'T': case 'X': return strftimeTm('%H:%M:%S', tm);
    case 'u': return num(tm.wday === 0 ? 7 : tm.wday, 1);
    case 'U': return num(Math.floor((tm.yday + 7 - tm.wday) / 7), 2);
    case 'V': return num(isoWeek(tm).week, 2);
    case 'w': return num(tm.wday, 1);
    case 'W': return num(Math.floor((tm.yday + 7 - ((tm.wday + 6) % 7)) / 7), 2);
    case 'y': return num(tm.year % 100, 2);
    case 'Y': return num(tm.year, 1);
    case 'z': {
      const a = Math.abs(tm.offset);
      return `${tm.offset < 0 ? '-' : '+'}${String(Math.floor(a / 60) * 100 + (a % 60)).padStart(4, '0')}`;
    }
    case 'Z': return tm.zone;
    case '%': return '%';
    default: return undefined;
  }
}

const CONVERSION = /%([_\-0^#]*)(\d*)[EO]?(.)/gs;

function strftimeTm(fmt: string, tm: Tm): string {
  return fmt.replace(CONVERSION, (whole, flags: string, widthText: string, conv: string) => {
    const f = field(tm, conv);
    if (f === undefined) return whole; // glibc copies unknown conversions verbatim
    const width = widthText === '' ? undefined : Number(widthText);
    let s: string;
    if (typeof f === 'string') {
      s = width !== undefined ? f.padStart(width, flags.includes('0') ? '0' : ' ') : f;
    } else {
      const pad = flags.includes('_') ? ' ' : flags.includes('0') ? '0' : f.pad;
      const digits = String(Math.abs(f.n));
      const w = flags.includes('-') ? 0 : (width ?? f.width) - (f.n < 0 ? 1 : 0);
      s = (f.n < 0 ? '-' : '') + digits.padStart(w, pad);
    }
    return flags.includes('^') ? s.toUpperCase() : s;
  });
}

/** Formats `date` like strftime(3) in the C locale; local time unless `utc`. */
export function strftime(fmt: string, date: Date, utc = false): string {
  return strftimeTm(fmt, brokenDown(date, utc));
}

/**
 * bpftrace `strftime(fmt, ns)` text for a wall-clock time in nanoseconds since the epoch: `%f` is microseconds (6 digits),
 * `%k` nanoseconds (9), `%l` milliseconds (3), replaced before strftime runs. An empty result or time 0 prints `(?)`.
 */
export function formatTimestamp(fmt: string, wallNs: bigint, utc = false): string {
  const seconds = wallNs / 1_000_000_000n;
  if (seconds === 0n) return '(?)';
  const frac = wallNs % 1_000_000_000n;
  const expanded = fmt
    .replaceAll('%f', String(frac / 1000n).padStart(6, '0'))
    .replaceAll('%k', String(frac).padStart(9, '0'))
    .replaceAll('%l', String(frac / 1_000_000n).padStart(3, '0'));
  const out = strftime(expanded, new Date(Number(seconds) * 1000), utc);
  return out === '' ? '(?)' : out;
}
