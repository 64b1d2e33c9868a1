import type { Principal } from './credentials.js';

/**
 * What a device or gateway may subscribe to: only filters that cannot match anything but its own
 * topics (for commands and configuration sent to it later): a device `city/{d}/{k}/{its id}/...`
 * with `+` allowed for district, kind and leaf, a gateway `city/gateways/{its id}/...`. Everything
 * else, `$SYS` and city-wide wildcards included, gets a failed SUBACK: devices never see each
 * other's readings.
 */
export function subscribeAllowed(principal: Principal, filter: string): boolean {
  const parts = filter.split('/');
  if (parts[0] !== 'city') return false;
  const literal = (p: string | undefined) => p !== undefined && p !== '+' && p !== '#' && p.length > 0;
  const tailOk = (rest: string[]) => rest.every((p, i) => p !== '#' || i === rest.length - 1);
  if (principal.type === 'gateway') return parts[1] === 'gateways' && parts[2] === principal.id && tailOk(parts.slice(3));
  if (parts.length < 4 || parts[3] !== principal.id) return false;
  return [parts[1], parts[2]].every((p) => p === '+' || literal(p)) && tailOk(parts.slice(4));
}
