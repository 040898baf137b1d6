"""The iPOKE network (paper Sec. 3.1, App. E.1) and its discriminators."""
from ipoke_core.model.discriminators import PatchDiscriminator, TemporalDiscriminator
from ipoke_core.model.ipoke import Animation, IPoke

__all__ = ["Animation", "IPoke", "PatchDiscriminator", "TemporalDiscriminator"]
