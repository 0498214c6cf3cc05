"""A real local OAuth issuer for the hosted-mode tests: an RSA key made in the test, its JWKS served by
uvicorn on a loopback port, access tokens signed with PyJWT. Nothing of the server's verifier is stubbed."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.server.conftest import free_port


@dataclass
class Issuer:
    url: str
    audience: str = ""
    kid: str = field(default_factory=lambda: secrets.token_hex(4))
    key: rsa.RSAPrivateKey = field(default_factory=lambda: rsa.generate_private_key(65537, 2048))
    jwks_requests: int = 0

    @property
    def jwks(self) -> dict[str, Any]:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**public, "kid": self.kid, "use": "sig", "alg": "RS256"}]}

    def token(self, sub: str, **claims: Any) -> str:
        now = int(time.time())
        body: dict[str, Any] = {
            "iss": self.url,
            "sub": sub,
            "aud": self.audience,
            "iat": now,
            "exp": now + 600,
            "client_id": "test-client",
            "scope": "mcp",
        }
        body.update(claims)
        headers = {"kid": claims.pop("_kid", self.kid)} if "_kid" not in body else {"kid": body.pop("_kid")}
        return jwt.encode(body, self.key, algorithm="RS256", headers=headers)


@asynccontextmanager
async def run_issuer() -> AsyncIterator[Issuer]:
    port = free_port()
    issuer = Issuer(f"http://127.0.0.1:{port}")

    async def jwks(request: Request) -> JSONResponse:
        issuer.jwks_requests += 1
        return JSONResponse(issuer.jwks)

    app = Starlette(routes=[Route("/.well-known/jwks.json", jwks)])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    async with anyio.create_task_group() as tg:
        tg.start_soon(server.serve)
        with anyio.fail_after(10):
            while not server.started:
                await anyio.sleep(0.02)
        try:
            yield issuer
        finally:
            server.should_exit = True
