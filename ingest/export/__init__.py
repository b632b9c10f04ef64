"""`tidtam export`: what the analysts get on the day after the last deadline (issue 16).

One module per output: `tables` (Parquet + CSV + data dictionary), `compendium` (the focus-group
records side by side, .docx), `questionnaire` (the questionnaire summary, .xlsx), `photos` (counted
photos and contact sheets), `manifest`; `snapshot` reads the stored state once, `pseudonym` replaces
personal data, `package` pins the zip containers so that the same input gives the same bytes, and
`run` puts them together.
"""
