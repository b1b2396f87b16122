// Who may talk to the web-mode server: the access token, the session cookie it is exchanged
// for, and the Host and Origin checks that stop DNS rebinding and cross-site requests. Pure
// functions, so the rules are tested without a server.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { networkInterfaces } from 'node:os';

/** 32 characters of the generated hex token carry 128 bits; shorter ones can be guessed offline. */
export const MIN_TOKEN_LENGTH = 32;
/** How long a browser keeps the session cookie: a bookmark keeps working across browser restarts. */
export const SESSION_MAX_AGE_S = 7 * 24 * 3600;

export class TokenPolicyError extends Error {}

/** Refuse tokens that are empty or too short to resist guessing; the message says the rule. */
export function checkTokenStrength(token: string, source = 'the token'): void {
  if (token.length === 0) throw new TokenPolicyError(`${source} is empty: leave it out and a random one is generated`);
  if (token.length < MIN_TOKEN_LENGTH) {
    throw new TokenPolicyError(`${source} has ${token.length} characters; at least ${MIN_TOKEN_LENGTH} are required (leave it out and a random one is generated)`);
  }
  if (/[\s;,"\\]/.test(token)) throw new TokenPolicyError(`${source} contains whitespace, quotes, commas, semicolons or backslashes; use letters, digits, "-" or "_"`);
}

export function tokenMatches(expected: string, given: string | null | undefined): boolean {
  if (!given) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * The cookie value for a token. Derived rather than stored, so a bookmark survives a server
 * restart with the same token and a new token invalidates every old cookie.
 */
export function sessionValue(token: string): string {
  return createHmac('sha256', token).update('veripo-session-v1').digest('hex');
}

/** Cookies are shared by every port of a host; the port in the name keeps two servers apart. */
export function sessionCookieName(port: number): string {
  return `veripo_session_${port}`;
}

export function sessionCookieHeader(port: number, token: string): string {
  return `${sessionCookieName(port)}=${sessionValue(token)}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${SESSION_MAX_AGE_S}`;
}

export function readCookie(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];
const WILDCARDS = new Set(['0.0.0.0', '::', '[::]']);

function bracketed(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/**
 * The Host header values this server answers to: the loopback names and the host it was told
 * to bind, each with the bound port. A wildcard bind adds this machine's own addresses. Any
 * other name is a browser that was pointed here by someone else's DNS (rebinding).
 */
export function allowedHosts(boundHost: string, port: number, interfaces: () => string[] = localAddresses): Set<string> {
  const names = new Set(LOOPBACK_NAMES);
  if (WILDCARDS.has(boundHost)) for (const a of interfaces()) names.add(bracketed(a));
  else names.add(bracketed(boundHost.toLowerCase()));
  const hosts = new Set<string>();
  for (const n of names) {
    hosts.add(`${n}:${port}`);
    if (port === 80) hosts.add(n);
  }
  return hosts;
}

function localAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((i) => i != null)
    .map((i) => i.address.toLowerCase());
}

export function hostAllowed(header: string | undefined, allowed: Set<string>): boolean {
  return header != null && allowed.has(header.trim().toLowerCase());
}

/**
 * Requests from a page of this server carry its own origin (or none, from scripts and the
 * address bar); any other origin, "null" included, is a different site using the browser.
 */
export function originAllowed(origin: string | undefined, hostHeader: string): boolean {
  if (origin == null || origin === '') return true;
  return origin.toLowerCase() === `http://${hostHeader.trim().toLowerCase()}`;
}
