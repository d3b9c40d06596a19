// A provider that forges: discovery, keys, an authorization endpoint that answers at once
// and a token endpoint that returns the ID token a test asks for, good or bad, so that the
// relying party's checks are tested one by one (signature, unknown key, alg none, HS256
// with the client secret, audience, issuer, expiry, issue time, nonce, a missing claim,
// garbage instead of JSON), and a key rotated in after the relying party cached the keys.
//
//   node forger.mjs <client id> <client secret>
//
// The test picks the token by adding `mode=<name>` to the authorization request; the
// claims are `claims=<JSON>`. Prints one line of JSON with the issuer when it listens.

import http from 'node:http';
import crypto from 'node:crypto';
import { SignJWT, generateKeyPair, exportJWK } from 'jose';

const [clientId, clientSecret] = process.argv.slice(2);
const { privateKey, publicKey } = await generateKeyPair('RS256');
const other = await generateKeyPair('RS256');
const jwk = { ...(await exportJWK(publicKey)), kid: 'good', alg: 'RS256', use: 'sig' };
// a key the provider rotates in: published only once a token signed with it was issued
const next = await generateKeyPair('ES256');
const nextJwk = { ...(await exportJWK(next.publicKey)), kid: 'next', alg: 'ES256', use: 'sig' };
let rotated = false;
const codes = new Map();

const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');

async function idToken(issuer, grant) {
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    iss: issuer, aud: clientId, sub: 'forged-subject', iat: now, exp: now + 300,
    nonce: grant.nonce, ...grant.claims,
  };
  switch (grant.mode) {
    case 'aud': claims.aud = 'someone-else'; break;
    case 'iss': claims.iss = 'https://other-issuer.example'; break;
    case 'expired': claims.exp = now - 600; claims.iat = now - 900; break;
    case 'future': claims.iat = now + 3600; claims.exp = now + 7200; break;
    case 'nonce': claims.nonce = 'not-the-nonce'; break;
    case 'azp': claims.aud = [clientId, 'another-client']; claims.azp = 'another-client'; break;
    default: break;
  }
  if (grant.mode === 'none') {
    return `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`;
  }
  if (grant.mode === 'hs256') {
    return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: 'good' })
      .sign(new TextEncoder().encode(clientSecret));
  }
  if (grant.mode === 'rotated') {
    rotated = true;
    return new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'next' })
      .sign(next.privateKey);
  }
  if (grant.mode === 'unknown-key') {
    return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'unknown' })
      .sign(other.privateKey);
  }
  if (grant.mode === 'bad-signature') {
    const t = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'good' })
      .sign(privateKey);
    const [h, p] = t.split('.');
    const tampered = b64({ ...JSON.parse(Buffer.from(p, 'base64url')), sub: 'someone-else' });
    return `${h}.${tampered}.${t.split('.')[2]}`;
  }
  return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'good' }).sign(privateKey);
}

const server = http.createServer(async (req, res) => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const url = new URL(req.url, issuer);
  const json = (status, body) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  if (url.pathname === '/.well-known/openid-configuration') {
    return json(200, {
      issuer,
      authorization_endpoint: `${issuer}/authorize`,
      token_endpoint: `${issuer}/token`,
      jwks_uri: `${issuer}/jwks`,
      response_types_supported: ['code'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256', 'ES256', 'HS256', 'none'],
      token_endpoint_auth_methods_supported: ['client_secret_basic'],
      code_challenge_methods_supported: ['S256'],
    });
  }
  if (url.pathname === '/jwks') return json(200, { keys: rotated ? [jwk, nextJwk] : [jwk] });
  if (url.pathname === '/authorize') {
    const p = url.searchParams;
    const code = crypto.randomBytes(16).toString('hex');
    codes.set(code, {
      mode: p.get('mode') || 'good',
      nonce: p.get('nonce'),
      claims: JSON.parse(p.get('claims') || '{}'),
      challenge: p.get('code_challenge'),
    });
    const back = new URL(p.get('redirect_uri'));
    back.searchParams.set('code', code);
    back.searchParams.set('state', p.get('state'));
    res.writeHead(303, { location: back.toString() });
    return res.end();
  }
  if (url.pathname === '/token' && req.method === 'POST') {
    let body = '';
    for await (const chunk of req) body += chunk;
    const form = new URLSearchParams(body);
    const grant = codes.get(form.get('code'));
    codes.delete(form.get('code'));
    const basic = Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64');
    if (req.headers.authorization !== `Basic ${basic}`) return json(401, { error: 'invalid_client' });
    if (!grant) return json(400, { error: 'invalid_grant' });
    const verifier = form.get('code_verifier') || '';
    const challenge = crypto.createHash('sha256').update(verifier).digest('base64url');
    if (challenge !== grant.challenge) return json(400, { error: 'invalid_grant', error_description: 'PKCE' });
    if (grant.mode === 'garbage') {
      res.writeHead(200, { 'content-type': 'text/html' });
      return res.end('<html>not a token</html>');
    }
    return json(200, {
      access_token: crypto.randomBytes(16).toString('hex'),
      token_type: 'Bearer',
      expires_in: 300,
      id_token: await idToken(issuer, grant),
    });
  }
  res.writeHead(404);
  res.end();
});
server.listen(0, '127.0.0.1', () => {
  console.log(JSON.stringify({ issuer: `http://127.0.0.1:${server.address().port}` }));
  // the test reads only that line: anything else goes to stderr
  console.log = console.error;
  console.info = console.error;
});
