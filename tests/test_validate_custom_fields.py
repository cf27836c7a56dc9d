import pandas as pd

from crmkit.templates import write_workspace
from crmkit.validate import validate_workspace
from crmkit.workspace import open_workspace


def test_validate_reports_a_refused_custom_field_row_with_its_place(tmp_path):
    folder = write_workspace(tmp_path / "ws", {"fields": pd.DataFrame({
        "entity": ["customers", "customers"], "key": ["budget", "Bad Key!"], "label_en": ["Budget", "Bad"],
        "label_zh": ["预算", "坏"], "type": ["money", "money"]})})
    report = validate_workspace(open_workspace(folder))
    bad = report.issues[report.issues["sheet"] == "Fields"]
    assert len(bad) == 1 and bad.iloc[0]["row"] == 3 and bad.iloc[0]["severity"] == "error"
