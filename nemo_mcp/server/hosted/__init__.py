"""Hosted mode: one nemo-mcp for a team (README "Run it for a team").

- :mod:`.config`: the settings (``NEMO_AUTH_*``, ``NEMO_PUBLIC_URL``, ``NEMO_SECRET_KEY``,
  ``NEMO_STORE_URL``, ``--workers``);
- :mod:`.jwt_verifier`: the OAuth 2.1 resource server's token check (the SDK's ``TokenVerifier``);
- :mod:`.vault`, :mod:`.link_page`, :mod:`.link_tool`: each user's NemoVideo credentials, linked in their
  browser and kept encrypted;
- :mod:`.tenants`, :mod:`.current`: a service per verified user (projects, jobs, downloads, identity);
- :mod:`.leases`, :mod:`.shared_jobs`, :mod:`.remote_jobs`: jobs any worker can answer for;
- :mod:`.rate_limit`: tool-call rate limits every worker shares; :mod:`.workers`: ``--workers N``.

:class:`.mode.Hosted` is what ``build_server`` takes to serve in this mode. This package's own import
stays empty: single-user servers import :mod:`.current` only, never the OAuth, crypto or Redis clients.
"""
