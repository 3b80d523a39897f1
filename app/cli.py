"""The `clinmatch` command: serve, worker, migrate, seed, reindex, eval, users, tokens.

Each command imports the app's modules when it runs (the one place that does so on purpose): `clinmatch --help` and
`clinmatch migrate` start in 0.5 s; the models and services cost 0.5 s more, the API and the matcher 1.5 s more.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from sqlmodel import select

from app.config import get_settings
from app.db import make_engine, session_scope

cli = typer.Typer(help="clinmatch: clinical-need matchmaking for Putuo and the Jiangsu corridor.", no_args_is_help=True)
users_cli = typer.Typer(help="Create users (the first admin, too); revoke all of a user's access.",
                        no_args_is_help=True)
tokens_cli = typer.Typer(help="Issue and revoke API tokens.", no_args_is_help=True)
cli.add_typer(users_cli, name="users")
cli.add_typer(tokens_cli, name="tokens")


def _engine():
    return make_engine(get_settings().database_url)


def _fail(msg: str) -> None:
    typer.secho(msg, fg="red", err=True)
    raise typer.Exit(2)


@cli.command()
def migrate(revision: str = "head") -> None:
    """Apply database migrations (run before `serve`; the server never migrates at import)."""
    # per command: start-up time (the module docstring)
    from app.migrate import upgrade

    url = get_settings().database_url
    upgrade(url, revision)
    typer.echo(f"database at {revision}: {url.split('@')[-1]}")


@cli.command()
def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1, reload: bool = False) -> None:
    """Run the API with uvicorn."""
    # per command: start-up time (the module docstring)
    import uvicorn

    typer.echo(f"clinmatch on http://{host}:{port}  (docs: http://{host}:{port}/docs)")
    # uvicorn's access log prints query strings (search terms, e-mail filters): the app writes its own, in JSON
    # (CLINMATCH_ACCESS_LOG, app/access_log.py)
    uvicorn.run("app.main:create_app", factory=True, host=host, port=port, workers=workers, reload=reload,
                proxy_headers=True, access_log=False)


def _index():
    # per command: start-up time (the module docstring)
    from app.main import load_embedder
    from app.services.matching.index import build_index

    t0 = time.perf_counter()
    index = build_index(load_embedder(get_settings()), get_settings())
    typer.echo(f"model {index.model['name']} {index.model['version']} loaded in {time.perf_counter() - t0:.1f} s",
               err=True)
    return index


@cli.command()
def seed(dataset: Annotated[Path | None, typer.Option(help="Load a dataset folder in the eval format instead.")] = None,
         tokens_file: Path = Path("var/demo-tokens.txt")) -> None:
    """Load the demo world (idempotent), or a dataset folder with --dataset; then embed and match what is new."""
    # per command: start-up time (the module docstring)
    from seed.loader import seed as run_seed

    if dataset is not None and not (dataset / "needs.jsonl").is_file():
        _fail(f"{dataset} has no needs.jsonl: not a dataset folder")
    t0 = time.perf_counter()
    rep, stats, told = run_seed(_engine(), _index(), get_settings(), dataset)
    n = rep.created["capabilities"]
    typer.echo("created: " + ", ".join(f"{k} {v}" for k, v in rep.created.items())
               + f"; {stats['matches']} matches stored; {told} events notified; {time.perf_counter() - t0:.1f} s"
               + (f" ({n / (time.perf_counter() - t0):.0f} capabilities/s incl. model load, embedding, matching)"
                  if n else ""))
    if rep.tokens:
        from app.services import accounts  # per command, as above

        # each demo person also gets a one-time link that sets their password for the web app
        with session_scope(_engine()) as session:
            links = {email: accounts.operator_link(session, get_settings(), email) for email, _r, _s in rep.tokens}
        tokens_file.parent.mkdir(parents=True, exist_ok=True)
        lines = [f"{role:14} {email:34} {secret}  {links[email]}" for email, role, secret in rep.tokens]
        fd = os.open(tokens_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write("\n".join(lines) + "\n")
        typer.echo(f"demo API tokens and web sign-in links (shown once; also written to {tokens_file}):")
        for line in lines:
            typer.echo("  " + line)
    elif dataset is None:
        typer.echo(f"demo users existed already; their tokens are in {tokens_file} (or issue new ones: "
                   "clinmatch tokens create EMAIL)")


@cli.command()
def reindex() -> None:
    """Store vectors for every need and capability whose text or model changed, and refresh open needs' matches."""
    # per command: start-up time (the module docstring)
    from app.jobs.match_backfill import backfill

    stats = backfill(_engine(), _index(), progress=True)
    typer.echo(f"reindexed {stats['capabilities']} capabilities, {stats['needs']} needs; "
               f"{stats['matches']} matches stored")


@cli.command("eval")
def eval_(dataset: Path, run_out: Annotated[Path | None, typer.Option(help="Write the ranking here (top 100 per "
                                                                            "need, TSV)")] = None,
          k: int = 10) -> None:
    """Rank every capability for every need of DATASET through the API's code path; print nDCG@k, Recall@k, MRR."""
    # per command: start-up time (the module docstring)
    from app.jobs.evaluation import evaluate
    from matching.evaluate import format_report
    from seed.loader import load_dataset

    if not (dataset / "needs.jsonl").is_file() or not (dataset / "qrels.tsv").is_file():
        _fail(f"{dataset} is not a dataset folder (needs.jsonl, capabilities.jsonl, qrels.tsv)")
    report = evaluate(dataset, _index(), load_dataset, k=k, run_out=run_out)
    typer.echo(format_report(report))
    if run_out:
        typer.echo(f"run written to {run_out}")


@cli.command()
def worker(once: Annotated[bool, typer.Option(help="One round (events, digests, reminders, deliveries), then "
                                                   "exit")] = False) -> None:
    """Deliver notifications: turn events into inbox messages, digests and reminders; send webhooks and e-mail."""
    # per command: start-up time (the module docstring)
    from app.jobs.worker import Worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    w = Worker(_engine(), get_settings())
    if once:
        typer.echo(str(w.run_once(clock=True)))
        return
    try:
        w.run_forever()
    except KeyboardInterrupt:  # pragma: no cover - interactive
        pass


@users_cli.command("create")
def users_create(
    email: str,
    role: Annotated[str, typer.Option(help="hospital_staff, company_staff, commission or admin")],
    org: Annotated[str, typer.Option(help="Organisation name (zh or en), or its numeric id")],
    name: str = "",
    create_org: Annotated[bool, typer.Option(help="Create the organisation if it does not exist")] = False,
    org_kind: str = "commission",
    region: str = "putuo",
) -> None:
    """Create a user (e.g. the first admin: --role admin --org 'clinmatch operations' --create-org)."""
    # per command: start-up time (the module docstring)
    from app.errors import AppError
    from app.models import Organisation
    from app.models.organisation import OrganisationCreate
    from app.models.user import UserCreate
    from app.services import organisations, users

    try:
        with session_scope(_engine()) as session:
            if org.isdigit():
                o = session.get(Organisation, int(org))
            else:
                o = session.exec(select(Organisation).where(
                    (Organisation.name_zh == org) | (Organisation.name_en == org))).first()
            if o is None:
                if not create_org:
                    _fail(f"no organisation '{org}' (add --create-org to create it)")
                zh = any("\u4e00" <= c <= "\u9fff" for c in org)
                o = organisations.create(session, None, OrganisationCreate(
                    kind=org_kind, region=region, **({"name_zh": org} if zh else {"name_en": org})))
            user = users.create_user(session, None, UserCreate(email=email, full_name=name, role=role,
                                                               organisation_id=o.id))
            typer.echo(f"user {user.id} {user.email} ({user.role}) in organisation {o.id} {o.display_name}")
    except ValidationError as e:
        _fail(f"invalid: {e.errors()[0]['loc'][-1]}: {e.errors()[0]['msg']}")
    except AppError as e:
        _fail(e.detail)


@tokens_cli.command("create")
def tokens_create(email: str, name: str = "cli") -> None:
    """Issue a token for a user; prints the secret once."""
    # per command: start-up time (the module docstring)
    from app.models import User
    from app.models.user import TokenCreate
    from app.services import users

    with session_scope(_engine()) as session:
        user = session.exec(select(User).where(User.email == email.lower())).first()
        if user is None:
            _fail(f"no user {email}")
        tok, secret = users.issue_token(session, None, user.id, TokenCreate(name=name))
    typer.echo(secret)
    typer.echo(f"(token {tok.id} for {email}; store it now, it is not shown again)", err=True)


@tokens_cli.command("revoke")
def tokens_revoke(token_id: int) -> None:
    """Revoke a token by id (and the dashboard sessions opened with it)."""
    # per command: start-up time (the module docstring)
    from app.errors import AppError
    from app.services import users

    try:
        with session_scope(_engine()) as session:
            users.revoke_token(session, None, token_id)
    except AppError:
        _fail(f"no token {token_id}")
    typer.echo(f"token {token_id} revoked")


@users_cli.command("password-link")
def users_password_link(email: str) -> None:
    """Print a one-time link that sets the person's password (the first admin's way in to the web app)."""
    from app.errors import AppError
    from app.services import accounts

    try:
        with session_scope(_engine()) as session:
            link = accounts.operator_link(session, get_settings(), email)
    except AppError:
        _fail(f"no user {email}")
    typer.echo(link)
    typer.echo(f"(for {email}: works once, for {get_settings().invitation_days:g} days)", err=True)


@users_cli.command("revoke-sessions")
def users_revoke_sessions(email: str) -> None:
    """Revoke all of a user's tokens and dashboard sessions."""
    # per command: start-up time (the module docstring)
    from app.models import User
    from app.services import users

    with session_scope(_engine()) as session:
        user = session.exec(select(User).where(User.email == email.lower())).first()
        if user is None:
            _fail(f"no user {email}")
        tokens, ended = users.revoke_everything(session, None, user.id)
    typer.echo(f"{email}: {tokens} token(s) and {ended} dashboard session(s) revoked")


def main() -> None:  # pragma: no cover - console entry point
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    cli(prog_name="clinmatch")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
