"""Write schema/stack-config.schema.json, the JSON Schema of Pulumi.<stack>.yaml files."""

import json
from pathlib import Path

from blueprint.config import json_schema

PATH = Path(__file__).resolve().parent.parent / "schema" / "stack-config.schema.json"


def render() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    PATH.write_text(render())
    print(f"wrote {PATH}")
