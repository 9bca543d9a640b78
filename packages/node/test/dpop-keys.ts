import { randomUUID } from 'node:crypto';
import { accessTokenHashForDpop } from '@tessera/core';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT } from 'jose';

/** A phone's DPoP key, as a test needs it: proofs on demand and the thumbprint to bind to. */
export interface TestDpopKey {
  jkt: string;
  proof(input: {
    method: string;
    url: string;
    accessToken?: string;
    iatSeconds: number;
    jti?: string;
  }): Promise<string>;
}

export async function dpopKey(): Promise<TestDpopKey> {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const jwk = await exportJWK(publicKey);
  const jkt = await calculateJwkThumbprint(jwk, 'sha256');
  return {
    jkt,
    proof: ({ method, url, accessToken, iatSeconds, jti }) =>
      new SignJWT({
        htm: method,
        htu: url,
        jti: jti ?? randomUUID(),
        ...(accessToken === undefined ? {} : { ath: accessTokenHashForDpop(accessToken) }),
      })
        .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk })
        .setIssuedAt(iatSeconds)
        .sign(privateKey),
  };
}
