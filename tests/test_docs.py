"""Docs that are generated from code stay in step with it."""

import os
from pathlib import Path

from luoshi.facts.reference import reference_tables

DOC = Path(__file__).parent.parent / "docs" / "input.md"
MARKER = "<!-- generated: reference tables -->\n"


def test_input_reference_tables_are_up_to_date():
    """Set LUOSHI_UPDATE_DOCS=1 to rewrite them after changing the fact model."""
    text = DOC.read_text(encoding="utf-8")
    head = text.split(MARKER)[0] + MARKER
    expected = head + "\n" + reference_tables()
    if os.environ.get("LUOSHI_UPDATE_DOCS"):
        DOC.write_text(expected, encoding="utf-8")
    assert text == expected


def test_rules_page_is_generated_from_the_policy_files():
    """Set LUOSHI_UPDATE_DOCS=1 to rewrite docs/rules.md after changing a policy."""
    from luoshi.engine.language.policy import load_catalog
    from luoshi.outputs.catalog_doc import rules_markdown

    page = DOC.parent / "rules.md"
    expected = rules_markdown(load_catalog())
    if os.environ.get("LUOSHI_UPDATE_DOCS"):
        page.write_text(expected, encoding="utf-8")
    assert page.read_text(encoding="utf-8") == expected
