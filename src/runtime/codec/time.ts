/**
 * The one RFC 3339 date-time parser (RFC 3339 §5.6 `date-time`), for timestamps inside signed objects: the Notary
 * signing time and expiry, revocation times, scan times.
 *
 * `Date.parse` accepts other shapes (RFC 2822, dates without a time) and rolls impossible dates over
 * (`2024-02-30` becomes 1 March), so two implementations could read one signed timestamp as two instants. Here the
 * grammar is matched exactly and every field is range-checked, including the day against the month's length.
 * Fractional seconds of any precision are accepted (and truncated to the millisecond `Date` holds); a leap second
 * (`:60`) is refused, since `Date` cannot represent it.
 */
import { ErrorClass, VerificationError } from './errors';
import { describeJson } from './json';

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/**
 * Parses an RFC 3339 date-time.
 *
 * @param what names the value in errors, e.g. `protected header io.cncf.notary.signingTime`
 * @param err the error to raise (default {@link VerificationError})
 * @throws `err`: `<what> is <value>; expected an RFC 3339 date-time such as "2024-05-01T12:00:00Z"`, or `<what>
 *   "<value>" is not a valid date-time: <field> <n> is out of range`
 */
export function parseRfc3339(value: unknown, what: string, err: ErrorClass = VerificationError): Date {
  const m = typeof value === 'string' ? DATE_TIME.exec(value) : null;
  if (!m) {
    throw new err(`${what} is ${describeJson(value)}; expected an RFC 3339 date-time such as "2024-05-01T12:00:00Z"`);
  }
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  const offsetHours = m[10] === undefined ? 0 : Number(m[10]);
  const offsetMinutes = m[11] === undefined ? 0 : Number(m[11]);
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const daysInMonth = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] ?? 0;
  const problem =
    month < 1 || month > 12 ? `month ${month}`
      : day < 1 || day > daysInMonth ? `day ${day} (${year}-${m[2]} has ${daysInMonth} days)`
        : hour > 23 ? `hour ${hour}`
          : minute > 59 ? `minute ${minute}`
            : second > 59 ? `second ${second}`
              : offsetHours > 23 || offsetMinutes > 59 ? `offset ${m[9]}${m[10]}:${m[11]}`
                : undefined;
  if (problem) {
    throw new err(`${what} ${JSON.stringify(value)} is not a valid date-time: ${problem} is out of range`);
  }
  const millis = m[7] === undefined ? 0 : Math.floor(Number(`0${m[7]}`) * 1000);
  const sign = m[9] === '-' ? -1 : 1;
  const local = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not map the years 0-99 to 1900-1999
  local.setUTCFullYear(year, month - 1, day);
  local.setUTCHours(hour, minute, second, millis);
  return new Date(local.getTime() - sign * (offsetHours * 60 + offsetMinutes) * 60_000);
}
