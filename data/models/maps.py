"""Each branch's imported map: the console's base layer, the road graph travel times are routed on, and the
address points sites are geocoded from."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from data.models.base import Base, utcnow
from data.models.types import UTCDateTime


class BranchMap(Base):
    """One row per branch, replaced whole by each import (both blobs are written by `data.maps` encoders)."""

    __tablename__ = "branch_maps"

    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), primary_key=True)
    source: Mapped[str] = mapped_column(String(255))
    attribution: Mapped[str] = mapped_column(String(255))
    south: Mapped[float]
    west: Mapped[float]
    north: Mapped[float]
    east: Mapped[float]
    layer: Mapped[bytes] = mapped_column(LargeBinary)  # gzipped JSON, data.maps.layer.encode_layer
    road_graph: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)  # npz, RoadGraph.to_bytes
    addresses: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)  # gzipped JSON, data.maps.addresses
    address_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    road_nodes: Mapped[int] = mapped_column(Integer, default=0)
    road_edges: Mapped[int] = mapped_column(Integer, default=0)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
