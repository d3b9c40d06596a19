// A real OpenID Connect provider for the sign-in tests: oidc-provider (an OpenID
// Certified implementation) on a loopback port, with two clients, one for staff and one
// for guardians, PKCE S256 required, the development sign-in form (any password; the
// login names the account) and RP-initiated logout.
//
//   node provider.mjs <relying party base URL> <accounts JSON file>
//
// The accounts file (read at each sign-in) maps an account id to its claims; claims of the `profile` and `email`
// scopes go into the ID token (the guardian's personal_identity_number with profile, as
// BankID brokers release it). Prints one line of JSON with the issuer when it listens.

import http from 'node:http';
import fs from 'node:fs';
import Provider from 'oidc-provider';

const [rp, accountsFile] = process.argv.slice(2);
if (!rp || !accountsFile) {
  console.error('usage: node provider.mjs <relying party base URL> <accounts JSON file>');
  process.exit(2);
}
// read at each sign-in, so that a test may write the accounts after the provider started
const accounts = () => JSON.parse(fs.readFileSync(accountsFile, 'utf8'));

const client = (which) => ({
  client_id: `narvaro-${which}`,
  client_secret: `${which}-client-secret-for-tests`,
  redirect_uris: [`${rp}/login/oidc/${which}/callback`],
  post_logout_redirect_uris: [`${rp}/login`],
  grant_types: ['authorization_code'],
  response_types: ['code'],
  token_endpoint_auth_method: 'client_secret_basic',
});

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [client('staff'), client('guardian')],
    pkce: { methods: ['S256'], required: () => true },
    conformIdTokenClaims: false,
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'given_name', 'family_name', 'preferred_username', 'upn',
        'personal_identity_number'],
    },
    features: {
      devInteractions: { enabled: true },
      rpInitiatedLogout: { enabled: true },
    },
    cookies: { keys: ['narvaro-test-provider-cookie-key'] },
    async findAccount(ctx, id) {
      const claims = accounts()[id];
      if (!claims) return undefined;
      return {
        accountId: id,
        async claims() {
          return { sub: id, ...claims };
        },
      };
    },
  });
  // the development interactions warn once; keep the test output quiet
  provider.on('server_error', (ctx, err) => console.error('provider error:', err.message));
  server.on('request', provider.callback());
  console.log(JSON.stringify({ issuer }));
  // the test reads only that line: anything else goes to stderr
  console.log = console.error;
  console.info = console.error;
});
