"""`engage push keys [--rotate]`: the VAPID public key browsers subscribe with, and replacing the keys."""

from __future__ import annotations

import click

from engage.config import get_settings


@click.group()
def push() -> None:
    """Web Push."""


@push.command("keys")
@click.option("--rotate", is_flag=True, help="Make new keys. Every browser must subscribe again.")
def keys(rotate: bool) -> None:
    """Show the VAPID public key (the browser's applicationServerKey); --rotate replaces the keys."""
    from engage.push.env import key_file, vapid_keys
    from engage.push.vapid import generate_keys, keys_to_text
    from engage.push.vapid import rotate as rotate_file

    settings = get_settings()
    if not rotate:
        try:
            current = vapid_keys(settings)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        source = (
            "ENGAGE_VAPID_PRIVATE_KEY" if settings.vapid_private_key is not None else str(key_file(settings))
        )
        click.echo(f"public key: {current.public_key}")
        click.echo(f"from: {source}")
        click.echo(f"subject: {settings.vapid_subject}")
        return
    if settings.vapid_private_key is not None:
        new = generate_keys()
        click.echo("The keys come from ENGAGE_VAPID_PRIVATE_KEY: set it to this new private key and restart")
        click.echo("every process (web and workers) together:")
        click.echo(f"ENGAGE_VAPID_PRIVATE_KEY={keys_to_text(new)}")
        click.echo(f"public key: {new.public_key}")
    else:
        new = rotate_file(key_file(settings))
        click.echo(f"new keys in {key_file(settings)} (the old ones kept in {key_file(settings)}.previous)")
        click.echo(f"public key: {new.public_key}")
        click.echo("Restart `engage serve` to use them.")
    click.echo(
        "Every existing subscription was made with the old public key: it is no longer sent to, and browsers "
        "subscribe again when the storefront sees the key changed (docs/push.md)."
    )


def register(cli: click.Group) -> None:
    cli.add_command(push)
