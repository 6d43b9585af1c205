"""Everything that asks a live system: one client for the Kubernetes API
(:mod:`~pocketid_k8s.live.kube`), one result type and report for every command
(:mod:`~pocketid_k8s.live.report`), and the commands' checks (``preflight``)."""
