"""Sharing (数据共享): stored approvals (事前管审批) and the release ledger (事中全留痕), kept in
``<data_dir>/share.db`` — see docs/spec/sharing-and-tracing.md."""
