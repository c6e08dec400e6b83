"""``allegro-feed params`` ("Get Allegro Attributes") and ``allegro-feed suggest``.

``params CATEGORY_ID`` fetches a leaf category and its parameters and writes a mapping
template (YAML, the format of :mod:`schemas.mapping`): a commented header saying what to fill
in, empty ``categories`` rules to point store categories at this one, and one ``attributes``
rule per parameter, each preceded by a comment with everything Allegro says about the
parameter (type, unit, required / requiredForProduct / describesProduct, conditions,
restrictions, the first dictionary values). The template is a valid mapping file as it is;
each rule's ``attribute`` is a guess made from the parameter's name, to be replaced by the
store's own attribute name (or the rule deleted). The template itself is rendered by
:mod:`workers.ops._template`.

``suggest "NAME"`` asks Allegro which categories fit a product name (user token of the
account) and prints each with its id and full path.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from workers.allegro import (
    AllegroClient,
    AllegroError,
    Category,
    MatchingCategory,
    NotConnected,
    NotFound,
    TokenStore,
)
from workers.budget import BudgetConfig, budget_url, open_budget
from workers.ops import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    OpsError,
    add_command,
    load_ops_settings,
    report_error,
)
from workers.ops._template import (
    DICTIONARY_VALUES_SHOWN,
    attribute_guess,
    describe_parameter,
    one_line,
    render_template,
)
from workers.settings import Settings

__all__ = [
    "DICTIONARY_VALUES_SHOWN",
    "AppOnlyTokens",
    "attribute_guess",
    "describe_parameter",
    "register_params",
    "register_suggest",
    "render_template",
]

_MAX_PATH_DEPTH = 12


# --- categories ------------------------------------------------------------------------------


def category_path(allegro: AllegroClient, category: Category) -> list[Category]:
    """The category's ancestors and itself, from the top of the tree."""
    chain = [category]
    node = category
    while node.parent is not None and node.parent.id and len(chain) < _MAX_PATH_DEPTH:
        node = allegro.get_category(node.parent.id)
        chain.append(node)
    return list(reversed(chain))


def match_path(match: MatchingCategory) -> str:
    """``Elektronika > Telefony > Smartfony`` from a suggestion's nested parents."""
    return " > ".join(one_line(node.name) or "?" for node in match.path())


# --- commands --------------------------------------------------------------------------------


class AppOnlyTokens:
    """A token store without accounts, for commands that only read categories: Allegro
    serves the category tree and parameters to the application token."""

    def get(self, account: str) -> None:
        return None

    def put(self, account: str, tokens: Any) -> None:
        raise OpsError("this command reads categories only and stores no user tokens")

    @contextmanager
    def refresh_lock(self, account: str) -> Iterator[None]:
        yield


@contextmanager
def budgeted_client(
    settings: Settings, tokens: TokenStore, account: str = "default"
) -> Iterator[AllegroClient]:
    """An Allegro client that takes from the rate budget the workers share (the same
    backend, ``ALLEGRO_FEED_RATE_BUDGET_URL`` or beside the store): the tool's requests
    count against the client id's 9,000/min, and a client id the workers found blocked is
    not sent to (it raises :class:`~workers.budget.BudgetExhausted` instead). Raises
    :class:`OpsError` for a budget URL that cannot be used."""
    try:
        budget = open_budget(budget_url(settings), BudgetConfig.from_settings(settings))
    except ValueError as exc:
        raise OpsError(f"ALLEGRO_FEED_RATE_BUDGET_URL: {exc}") from None
    with budget, AllegroClient(settings, tokens, account=account, budget=budget) as client:
        yield client


@contextmanager
def _token_store(settings: Settings) -> Iterator[TokenStore]:
    """The store the seller accounts' tokens are in (``allegro-feed connect`` puts them
    there): the pipeline's store; the token file when the store cannot be opened."""
    try:
        from workers.store import open_store

        store = open_store(settings.database_url)
    except Exception as exc:  # the store's own errors vary by backend
        raise OpsError(
            f"cannot open the store {settings.database_url!r} for the account's tokens: {exc}"
        ) from None
    try:
        yield store
    finally:
        store.close()


def _allegro_errors(command: str, exc: AllegroError, account: str) -> int:
    if isinstance(exc, NotConnected):
        report_error(
            command,
            OpsError(f"{exc}; connect it first: allegro-feed connect --account {account}"),
        )
        return EXIT_USAGE
    report_error(command, exc)
    return EXIT_FAILED


_PARAMS_EPILOG = """\
examples:
  allegro-feed params 165                          the template of Smartfony to stdout
  allegro-feed params 67490 --out mapping.yaml     ... written to a file
  allegro-feed check-mapping mapping.yaml --against-allegro

The category must be a leaf (offers can only be listed there); for a category with
subcategories, the command lists them instead.
"""


def register_params(subparsers: Any) -> None:
    """Add ``params``."""
    parser = add_command(
        subparsers,
        "params",
        help='"Get Allegro Attributes": a leaf category\'s parameters as a mapping template',
        description="Fetch an Allegro leaf category and its parameters and write a mapping "
        "template (YAML): one attributes rule per parameter, each with id, name, type, unit, "
        "required / requiredForProduct / describesProduct, conditions, restrictions and the "
        "first dictionary values, ready to fill in with the store's attribute names.",
        epilog=_PARAMS_EPILOG,
    )
    parser.add_argument("category_id", metavar="CATEGORY_ID", help="Allegro category id")
    parser.add_argument(
        "--account",
        default="default",
        help="seller account (default: default); categories are read with the "
        "application token, the same for every account",
    )
    parser.add_argument(
        "--out", "-o", type=Path, metavar="FILE", help="write here instead of stdout"
    )
    parser.set_defaults(handler=run_params)


def run_params(args: argparse.Namespace, *, out: TextIO | None = None) -> int:
    """The ``params`` command. Returns the exit code."""
    settings = load_ops_settings()  # invalid settings: workers.cli names them (exit 2)
    try:
        settings.require_credentials()
    except ValueError as exc:
        report_error("params", exc)
        return EXIT_USAGE
    try:
        with budgeted_client(settings, AppOnlyTokens(), args.account) as allegro:
            try:
                category = allegro.get_category(args.category_id)
            except NotFound:
                report_error("params", OpsError(f"Allegro has no category {args.category_id!r}"))
                return EXIT_FAILED
            if category.leaf is False:
                children = allegro.list_categories(args.category_id)
                listing = "\n".join(
                    f"  {c.id:<12} {one_line(c.name)}{'' if c.leaf else '  (has subcategories)'}"
                    for c in children[:50]
                )
                report_error(
                    "params",
                    OpsError(
                        f"category {args.category_id} ({one_line(category.name)}) is not a "
                        "leaf: offers can only be listed in a leaf category. Its "
                        f"subcategories:\n{listing}"
                    ),
                )
                return EXIT_FAILED
            parameters = allegro.get_category_parameters(args.category_id)
            path = category_path(allegro, category)
    except AllegroError as exc:
        return _allegro_errors("params", exc, args.account)
    except OpsError as exc:
        report_error("params", exc)
        return EXIT_USAGE
    text = render_template(
        category,
        path,
        parameters,
        fetched_at=datetime.now(UTC),
        environment=str(settings.environment),
    )
    if args.out is not None:
        try:
            args.out.write_text(text, encoding="utf-8")
        except OSError as exc:
            report_error("params", OpsError(f"cannot write {args.out}: {exc.strerror or exc}"))
            return EXIT_FAILED
        print(
            f"wrote {args.out}: {len(parameters)} parameters of category {category.id} "
            f'"{one_line(category.name)}"',
            file=out or sys.stdout,
        )
    else:
        (out or sys.stdout).write(text)
    return EXIT_OK


_SUGGEST_EPILOG = """\
examples:
  allegro-feed suggest "Czajnik elektryczny 1,7 l"
  allegro-feed suggest "iPhone 15 128GB" --account shop-pl

Needs a connected account (allegro-feed connect): Allegro answers this with a user token.
"""


def register_suggest(subparsers: Any) -> None:
    """Add ``suggest``."""
    parser = add_command(
        subparsers,
        "suggest",
        help="Allegro's category suggestions for a product name (id and full path)",
        description="Ask Allegro which leaf categories fit a product name; each is printed "
        "with its id and full path, best match first. Use the id in the mapping file or in "
        "an event's allegro.category_id.",
        epilog=_SUGGEST_EPILOG,
    )
    parser.add_argument("name", metavar="PRODUCT_NAME", help="the product's name, quoted")
    parser.add_argument("--account", default="default", help="seller account (default: default)")
    parser.set_defaults(handler=run_suggest)


def run_suggest(args: argparse.Namespace, *, out: TextIO | None = None) -> int:
    """The ``suggest`` command. Returns the exit code."""
    stream = out or sys.stdout
    if not args.name.strip():
        report_error("suggest", OpsError('give a product name, e.g. "Czajnik 1,7 l"'))
        return EXIT_USAGE
    settings = load_ops_settings()
    try:
        settings.require_credentials()
        with (
            _token_store(settings) as tokens,
            budgeted_client(settings, tokens, args.account) as allegro,
        ):
            matches = allegro.match_categories(args.name)
    except AllegroError as exc:  # before ValueError: InvalidRequest is both
        return _allegro_errors("suggest", exc, args.account)
    except ValueError as exc:
        report_error("suggest", exc)
        return EXIT_USAGE
    except OpsError as exc:
        report_error("suggest", exc)
        return exc.exit_code
    if not matches:
        print(f"Allegro suggests no category for {args.name!r}", file=stream)
        return EXIT_FAILED
    width = max(len(m.id or "?") for m in matches)
    for match in matches:
        print(f"{match.id or '?':<{width}}  {match_path(match)}", file=stream)
    return EXIT_OK
