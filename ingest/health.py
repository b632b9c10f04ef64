"""Was a run's reading good enough to trust its statuses? Per source, pure: counts in, a verdict out.

A source that rejects all of its rows, or more than `sources.<name>.max_rejected` of them, makes the
run `degraded`: every unit would look as if it had sent less than it did only because its rows could
not be read. Such a source's deliverables get no reminder and, for a responses source, the last good
read stays in the state, exactly as when the source failed.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ingest.alerts.plan import SourceWarning
from ingest.campaign import Campaign

MAX_REASONS = 3  # reasons kept per source for the run log, the terminal and the digest


@dataclass
class SourceRead:
    """What one source gave in this run: rows or files read, and how many of them could not be used.

    Rejected means unreadable, not rule-breaking: a response row skipped (no usable timestamp), or
    for uploads a file whose bytes could not be read and a folder that could not be listed. A file
    that is read but breaks a rule (a .pdf, a picture in the record) is a read file with a reason."""

    read: int = 0  # everything the source offered this run, the rejected included
    rejected: int = 0
    reasons: list[str] = field(default_factory=list)  # the first few, as "where: what"

    def reject(self, reason: str) -> None:
        self.rejected += 1
        if len(self.reasons) < MAX_REASONS:
            self.reasons.append(reason)


def too_many_rejected(read: SourceRead, max_rejected: float) -> bool:
    """All rows rejected, or more than the allowed share; nothing offered is not a problem."""
    return read.rejected > 0 and (read.rejected >= read.read or read.rejected / read.read > max_rejected)


@dataclass(frozen=True)
class SourceHealth:
    source: str
    role: str  # responses | uploads
    read: int  # rows or files offered this run, the rejected included
    rejected: int
    max_rejected: float
    reasons: tuple[str, ...]  # the first few

    @property
    def degraded(self) -> bool:
        return too_many_rejected(SourceRead(self.read, self.rejected), self.max_rejected)

    @property
    def noun(self) -> str:
        return "rows" if self.role == "responses" else "files or folders"

    def summary(self) -> str:
        """Plain words for the run log and the terminal (English, like the rest of the `runs` tab)."""
        share = "all of them" if self.rejected >= self.read else (
            f"{self.rejected / self.read:.0%}, more than the {self.max_rejected:.0%} allowed")
        first = "; ".join(self.reasons)
        return (f"source {self.source} could not read {self.rejected} of {self.read} {self.noun} ({share}); "
                f"{'its last good read is kept; ' if self.role == 'responses' else ''}"
                f"no reminders for its deliverables; first: {first}")


def source_health(campaign: Campaign, reads: Mapping[str, SourceRead]) -> list[SourceHealth]:
    """One verdict per source that was read in this run (a failed source has no counts)."""
    return [SourceHealth(name, campaign.sources[name].role, read.read, read.rejected,
                         campaign.sources[name].max_rejected, tuple(read.reasons))
            for name, read in reads.items() if name in campaign.sources]


def withheld_deliverables(campaign: Campaign, sources: Iterable[str]) -> tuple[str, ...]:
    """The deliverables fed by these sources, in campaign order: their statuses cannot be trusted."""
    names: Collection[str] = set(sources)
    return tuple(d.id for d in campaign.deliverables if d.source in names)


def source_warnings(campaign: Campaign, health: Iterable[SourceHealth], failed: Mapping[str, str]) -> list[SourceWarning]:
    """What the digest opens with, and whose deliverables no reminder mentions: the sources that failed
    (name → the error) and those that read too little."""
    def role(name: str) -> str:
        return campaign.sources[name].role if name in campaign.sources else "responses"

    warnings = [SourceWarning(name, withheld_deliverables(campaign, [name]), True, role=role(name),
                              reasons=(detail,) if detail else ()) for name, detail in failed.items()]
    return warnings + [SourceWarning(h.source, withheld_deliverables(campaign, [h.source]), False, h.read,
                                     h.rejected, h.role, h.reasons) for h in health if h.degraded]


def run_counts(health: Iterable[SourceHealth], failed: Mapping[str, str]) -> dict[str, Any]:
    """What the run log keeps of this, so `tidtam alerts` later withholds what the sync withheld."""
    return {"sources": {h.source: {"read": h.read, "rejected": h.rejected, "reasons": list(h.reasons)}
                        for h in health},
            "failed_sources": dict(failed)}


def warnings_of_run(campaign: Campaign, counts: Mapping[str, Any]) -> list[SourceWarning]:
    """The warnings of a logged run (its `counts`), judged by the campaign's current `max_rejected`."""
    health = [SourceHealth(name, campaign.sources[name].role, int(c.get("read", 0)), int(c.get("rejected", 0)),
                           campaign.sources[name].max_rejected, tuple(c.get("reasons", ())))
              for name, c in (counts.get("sources") or {}).items() if name in campaign.sources]
    return source_warnings(campaign, health, counts.get("failed_sources") or {})
