"""A stateful mock of the Mews Connector API's loyalty operations, as an ASGI app or a server.

    mews-loyalty mock connector                               # demo tokens, 127.0.0.1:8080, empty
    mews-loyalty mock connector --seed-data --port 0          # demo data set, any free port
    mews-loyalty mock connector --rate-limit off --faults 429=0.05,500=0.02,delay=0.2 --fault-seed 7
    mews-loyalty mock connector --access-token MY_TOKEN --portfolio-token P=<chain>,<chain>

    app = create_app()                                        # in-process, e.g. httpx.ASGITransport
    app = create_app(ConnectorMockConfig(rate_limit=None, seed_data=True))

It serves every operation of ``specs/connector/openapi.yaml`` the way Mews does: body tokens (Mews'
public demo tokens by default), strict validation against the spec (400 naming the parameter),
in-memory programs, tiers and memberships with cursor paging, filters, update values and soft
delete, chain scoping for single and portfolio tokens, a per-token sliding-window rate limit, a
``Request-Id`` on every answer, and seeded fault injection. ``errors`` says which
status answers what.
"""

from __future__ import annotations

import argparse
import sys
import uuid

from starlette.applications import Starlette

from mews_loyalty._asgi import add_repeated_argument, add_server_arguments, serve_command
from mews_loyalty._spec.catalog import catalog
from mews_loyalty._transport.window import parse_rate
from mews_loyalty.mock.connector.app import build_app
from mews_loyalty.mock.connector.config import (
    DEFAULT_SEED_MEMBERSHIPS,
    DEMO_ACCESS_TOKEN,
    DEMO_CHAIN_ID,
    DEMO_CLIENT_TOKEN,
    Access,
    ConnectorMockConfig,
)
from mews_loyalty.mock.connector.faults import FaultPlan
from mews_loyalty.mock.connector.rules import API, build_store
from mews_loyalty.mock.connector.seed import seed
from mews_loyalty.mock.connector.store import ConnectorStore

__all__ = [
    "DEMO_ACCESS_TOKEN",
    "DEMO_CHAIN_ID",
    "DEMO_CLIENT_TOKEN",
    "Access",
    "ConnectorMockConfig",
    "config_from_args",
    "connector_main",
    "create_app",
    "fault_statuses",
]


def fault_statuses() -> frozenset[int]:
    """Error statuses every operation documents: the ones a fault may answer."""
    documented = [op.documented_statuses for op in catalog(API).operations]
    return frozenset(code for code in frozenset.intersection(*documented) if code >= 400)


def create_app(
    config: ConnectorMockConfig | None = None, *, store: ConnectorStore | None = None
) -> Starlette:
    """The mock as an ASGI app; ``store`` lets a test start from records it put there itself."""
    config = config or ConnectorMockConfig()
    if store is None:
        store = build_store()
        if config.seed_data:
            seed(
                store,
                chain_id=DEMO_CHAIN_ID,
                anchor=config.now(),
                memberships=config.seed_memberships,
                minimal=config.seed_minimal,
            )
    return build_app(config, store)


def _chain_list(text: str) -> tuple[str, ...]:
    chains = tuple(str(uuid.UUID(chain.strip())) for chain in text.split(",") if chain.strip())
    if not chains:
        raise ValueError("name at least one chain id")
    return chains


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mews-loyalty mock connector",
        description="Serve the stateful mock of the Mews Connector API loyalty operations.",
    )
    add_server_arguments(parser, default_port=8080)
    add_repeated_argument(parser, "--client-token", metavar="TOKEN", help="also accept this ClientToken")
    add_repeated_argument(
        parser,
        "--access-token",
        metavar="TOKEN[=CHAIN]",
        help=f"also accept this AccessToken for one chain (default chain {DEMO_CHAIN_ID})",
    )
    add_repeated_argument(
        parser,
        "--portfolio-token",
        metavar="TOKEN=CHAIN,CHAIN...",
        help="also accept this portfolio AccessToken for these chains",
    )
    parser.add_argument("--no-demo-tokens", action="store_true", help="refuse Mews' public demo tokens")
    parser.add_argument(
        "--rate-limit",
        default="200/30",
        metavar="N/SECONDS",
        help="per AccessToken, or 'off' (default 200/30)",
    )
    parser.add_argument(
        "--faults",
        default="off",
        metavar="SPEC",
        help="e.g. 429=0.05,500=0.02,408=0.01,delay=0.2: shares of requests answered with a status or delayed",
    )
    parser.add_argument("--fault-seed", type=int, default=None, metavar="N", help="seed of the fault draws")
    parser.add_argument(
        "--fault-delay",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="how long a delay fault waits (default 1)",
    )
    parser.add_argument(
        "--seed-data", action="store_true", help="start with the demo data set instead of empty"
    )
    parser.add_argument(
        "--seed-memberships",
        type=int,
        default=DEFAULT_SEED_MEMBERSHIPS,
        metavar="N",
        help=f"memberships in the demo data set (default {DEFAULT_SEED_MEMBERSHIPS})",
    )
    parser.add_argument(
        "--seed-minimal",
        action="store_true",
        help="the demo data set's memberships carry only the properties the spec requires (for benchmarks)",
    )
    return parser


def config_from_args(argv: list[str]) -> tuple[ConnectorMockConfig, str, int]:
    """The config, host and port the command line asks for (SystemExit with a message if invalid)."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        client_tokens = set(args.client_token)
        access_tokens: dict[str, Access] = {}
        if not args.no_demo_tokens:
            client_tokens.add(DEMO_CLIENT_TOKEN)
            access_tokens[DEMO_ACCESS_TOKEN] = Access((DEMO_CHAIN_ID,))
        for entry in args.access_token:
            token, _, chain = entry.partition("=")
            access_tokens[token] = Access(_chain_list(chain) if chain else (DEMO_CHAIN_ID,))
        for entry in args.portfolio_token:
            token, _, chains = entry.partition("=")
            access_tokens[token] = Access(_chain_list(chains), portfolio=True)
        config = ConnectorMockConfig(
            client_tokens=frozenset(client_tokens),
            access_tokens=access_tokens,
            rate_limit=parse_rate(args.rate_limit),
            faults=FaultPlan.parse(
                args.faults,
                allowed_statuses=fault_statuses(),
                seed=args.fault_seed,
                delay_seconds=args.fault_delay,
            ),
            seed_data=args.seed_data,
            seed_memberships=args.seed_memberships,
            seed_minimal=args.seed_minimal,
        )
    except ValueError as error:
        # Never echo the command line: it may hold tokens.
        parser.error(str(error))
    return config, args.host, args.port


def connector_main(argv: list[str]) -> int:
    config, host, port = config_from_args(argv)
    return serve_command(create_app(config), host, port)


if __name__ == "__main__":
    sys.exit(connector_main(sys.argv[1:]))
