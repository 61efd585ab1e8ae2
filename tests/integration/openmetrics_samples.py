"""Parses an OpenMetrics exposition with the reference Python parser (Debian's
python3-prometheus-client) and prints one line per sample: name, labels sorted
as k=v joined by ',', value. Exits non-zero, with the parser's message, on any
violation of the format (a missing # EOF, a non-canonical bucket bound, ...)."""
import sys

from prometheus_client.openmetrics.parser import text_string_to_metric_families

with open(sys.argv[1], encoding="utf-8") as f:
    text = f.read()
for family in text_string_to_metric_families(text):
    for s in family.samples:
        labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
        print(f"{s.name} {{{labels}}} {s.value!r}")
