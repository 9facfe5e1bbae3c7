"""The 单元方案 package: Word, PDF, Excel, maps, data, TXT and a manifest, from one check result.

Everything is rendered from ``core.unit_report.UnitReport`` (the document model whose
figures come from the engine), so the files agree with each other and with checkunits.
"""
