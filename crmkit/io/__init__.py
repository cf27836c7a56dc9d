"""Files in and out: reading and typing sheets, the bulk writer, preserving what users added, safe writes.

Nothing here knows about rules, RFM or dashboards; the domain modules above
use it, never the other way round.

* :mod:`~crmkit.io.workbook` reads a sheet as text (fastexcel), types each column by the schema,
  and writes styled workbooks (xlsxwriter).
* :mod:`~crmkit.io.bulk` writes the cells of big sheets in bulk.
* :mod:`~crmkit.io.preserve` updates a workbook a person has saved, keeping their additions.
* :mod:`~crmkit.io.safety` is the one write path for users' files (temp file, fsync, atomic replace, backups, locks).
* :mod:`~crmkit.io.journal` saves several files as one unit.
* :mod:`~crmkit.io.cache` keeps a typed copy of each unchanged workbook.
* :mod:`~crmkit.io.sources` reads import sources (CSV, xls, xlsx, ods) of any encoding.
"""
