"""Graded-protection evidence (等保 2.0, 密评, 数据分类分级) assembled from what the suite records.

Callers use :func:`soc.evidence.pack.build_pack` / :func:`~soc.evidence.pack.verify_pack` for the
signed pack and :func:`soc.evidence.report.build_report` for the judgements alone."""
