// idp.mjs - a test-only OpenID provider on loopback for the resident flow.
//
// Usage: node idp.mjs PORT REDIRECT_URI [REDIRECT_URI...]
// Issuer http://127.0.0.1:PORT; one public client "ecred-resident" (PKCE,
// no secret) signing ID tokens with ES256; two signing keys (ES256, RS256)
// made at start. devInteractions: the login form takes any of the accounts
// below by name. Must never listen beyond 127.0.0.1 or be used outside tests.
import Provider from 'oidc-provider';
import { generateKeyPair, exportJWK } from 'jose';

const port = Number(process.argv[2]);
const redirects = process.argv.slice(3);
if (!port || redirects.length === 0) {
  console.error('usage: node idp.mjs PORT REDIRECT_URI...');
  process.exit(2);
}

// What the city's identity platform knows of each resident (test data).
const accounts = {
  alice: { name: '王建国', id_number: '340102199003072518' },
  bob: { name: '李梅', id_number: '310104198805121222' },
};

async function jwk(alg, opts) {
  const { privateKey } = await generateKeyPair(alg, { extractable: true, ...opts });
  const k = await exportJWK(privateKey);
  return { ...k, alg, use: 'sig', kid: alg.toLowerCase() + '-1' };
}

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [{
    client_id: 'ecred-resident',
    token_endpoint_auth_method: 'none',
    redirect_uris: redirects,
    response_types: ['code'],
    grant_types: ['authorization_code'],
    id_token_signed_response_alg: 'ES256',
  }],
  jwks: { keys: [await jwk('ES256'), await jwk('RS256', { modulusLength: 2048 })] },
  claims: { openid: ['sub'], profile: ['name', 'id_number'] },
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: true } },
  pkce: { required: () => true },
  async findAccount(ctx, id) {
    const a = accounts[id];
    if (!a) return undefined;
    return { accountId: id, async claims() { return { sub: id, ...a }; } };
  },
});
provider.proxy = false;
provider.listen(port, '127.0.0.1', () => console.log(`idp ready on ${port}`));
