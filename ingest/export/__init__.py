"""`tidtam export`: what the analysts get on the day after the last deadline (issue 16).

`snapshot` reads the stored state once (as `tidtam status` does); `private` replaces personal data in
it with `pseudonym`s; then one module per output: `frames` + `tables` (Parquet, CSV, data dictionary),
`compendium` (.docx), `questionnaire` (.xlsx), `photos` (with `photo_bytes`, `metadata`, `thai_font`),
`manifest`; `package` pins the zip containers so that the same input gives the same bytes, and `run`
puts them together.
"""
