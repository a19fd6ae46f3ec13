"""moviecdc.names holds the pipeline's object names: they are the names the templates create."""

from __future__ import annotations

from moviecdc import names
from moviecdc.config import Settings
from moviecdc.deploy import created_objects
from moviecdc.render import render_all, template_variables


def test_names_are_the_objects_the_templates_create() -> None:
    scripts = render_all(None, template_variables(Settings(), {}))
    created = {(o.kind, o.name.split(".")[-1].strip('"').lower()) for o in created_objects(scripts)}
    expected = {
        ("TABLE", names.MOVIES),
        ("TABLE", names.SOURCE_TABLE),
        ("STREAM", names.STREAM),
        ("TABLE", names.EVENTS_TABLE),
        ("TASK", names.TASK),
        *(("DYNAMIC TABLE", n) for n in names.DYNAMIC_TABLES),
    }
    assert expected <= created
    # in dependency order: the second dynamic table reads the first
    assert names.DYNAMIC_TABLES == (names.FILTERED, names.INSIGHTS)
    insights = next(s.sql for script in scripts for s in script.statements if names.INSIGHTS in s.sql.split("AS")[0])
    assert names.FILTERED in insights
