"""`dinamis accounts`: the registry's commands, for operators."""

from __future__ import annotations

import asyncio
import sys
from typing import Annotated

import typer
from pydantic import EmailStr, TypeAdapter, ValidationError

from registry_plugin.security import hash_password, password_problems

accounts_app = typer.Typer(
    name="accounts", help="Registry accounts (instructors).", no_args_is_help=True
)


def fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=1)


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    value: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return value


@accounts_app.command("create-admin")
def create_admin(
    email: Annotated[str, typer.Argument(help="The instructor's e-mail (their sign-in)")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin's first line")
    ] = False,
) -> None:
    """Create the first instructor of a fresh install (production mode included): an active
    account of the DINAMIS instance, which then administers the registry from /registre.
    Does nothing when the account exists."""
    from extensions.database import application_lane
    from extensions.settings import Settings
    from pgstac.settings import DatabaseNotConfigured

    try:
        address = TypeAdapter(EmailStr).validate_python(email.strip()).lower()
    except ValidationError as exc:
        raise fail(f"{email!r} is not an e-mail address.") from exc
    try:
        settings = Settings()
        dsn = settings.database.dsn()
    except (ValidationError, DatabaseNotConfigured) as exc:
        raise fail(str(exc)) from exc
    password = read_password(password_stdin)
    if problems := password_problems(password, address):
        raise fail("the password must have " + ", ".join(problems) + ".")

    async def create() -> bool:
        from extensions.assets import make_storage
        from registry_plugin.domain.administration import create_instructor
        from registry_plugin.domain.context import Context
        from registry_plugin.settings import RegistrySettings

        async with application_lane(dsn) as database, database.session() as session:
            ctx = Context(
                session=session,
                settings=settings.plugin(RegistrySettings),
                public_url=settings.web.public_url,
                secrets=settings.web.secret_keys,
                files=make_storage(settings.storage),
            )
            account, created = await create_instructor(ctx, address, hash_password(password))
            await ctx.commit()
            roles = ", ".join(account.roles)
        typer.echo(
            f"Instructor {address} created: sign in at {settings.web.public_url}/connexion."
            if created
            else f"An account {address} already exists (roles: {roles}): nothing changed."
        )
        return created

    asyncio.run(create())
