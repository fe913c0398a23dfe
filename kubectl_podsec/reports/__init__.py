"""Renderers: each turns a value of `model.py` into the text of one output format, and calls
nothing back in the core.

- data.py: the stable JSON/YAML schema (README "Output"), defined once, and its encoders
- text.py: the report for people
- sarif.py, junit.py, github.py: the CI formats
- fix.py: what `fix` did (the stderr summary and `fix -o json`)
- namespaces.py: the `namespaces` table
- plan.py, compare.py, audit.py: `plan`, `check --compare-versions` and `audit`, each its JSON
  data (the schema, once) and its text (plan also markdown)
- terminal.py: whether to colour, and the painter the text renderers take
"""
