"""Search's own tables: the lexical document and the embedding of each product, and the query log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from engage.platform.clock import utcnow
from engage.platform.db import Base, BigId, IdMixin

# PostgreSQL keeps a weighted tsvector beside the text; SQLite indexes the text in FTS5 tables instead.
TsVector = TSVECTOR().with_variant(Text(), "sqlite")

# Objects the migration creates by hand and Alembic must not compare: SQLite's FTS5 tables (and their
# shadow tables) and PostgreSQL's GIN indexes.
UNMANAGED_PREFIXES = ("search_fts", "ix_search_documents_gin_", "ix_search_documents_trgm_")


class SearchDocument(Base):
    """What the lexical leg indexes for one product: `title` (name, brand), `keywords` (category, tags,
    options) and `body` (description, attributes), with the hash of that text."""

    __tablename__ = "search_documents"

    product_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("products.id", ondelete="CASCADE"), primary_key=True
    )
    title: Mapped[str] = mapped_column(Text, default="")
    keywords: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    document: Mapped[str | None] = mapped_column(TsVector, default=None)
    content_hash: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ProductEmbedding(Base):
    """A product's vector; `content_hash` is of the embedded text and the model, so unchanged products are
    not embedded again."""

    __tablename__ = "product_embeddings"

    product_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("products.id", ondelete="CASCADE"), primary_key=True
    )
    model: Mapped[str] = mapped_column(String(120))
    content_hash: Mapped[str] = mapped_column(String(64))
    dimensions: Mapped[int]
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, index=True)


class IndexBacklog(Base):
    """A product waiting to be (re)indexed. `generation` grows with every change that marks it again, so
    the indexer deletes only the marks it has handled (a newer one survives for the next batch)."""

    __tablename__ = "search_backlog"

    product_id: Mapped[int] = mapped_column(BigId, primary_key=True)  # no FK: deleted products pass here
    generation: Mapped[int] = mapped_column(default=1)
    marked_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class SearchQuery(IdMixin, Base):
    """One search a shopper ran: what they typed, how many results, what they clicked, whether they bought."""

    __tablename__ = "search_queries"
    __table_args__ = (Index("ix_search_queries_normalized_created", "normalized", "created_at"),)

    query: Mapped[str] = mapped_column(String(200))
    normalized: Mapped[str] = mapped_column(String(200))
    result_count: Mapped[int]
    owner_key: Mapped[str | None] = mapped_column(String(80), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    clicked_handle: Mapped[str | None] = mapped_column(String(64), default=None)
    clicked_position: Mapped[int | None] = mapped_column(default=None)
    clicked_at: Mapped[datetime | None] = mapped_column(default=None)
    converted_at: Mapped[datetime | None] = mapped_column(default=None)
    order_ref: Mapped[str | None] = mapped_column(String(64), default=None)
    took_ms: Mapped[int | None] = mapped_column(default=None)  # the search's time on the server


class SearchSynonym(IdMixin, Base):
    """A merchant's own synonym group (the console's Search page), merged with the shipped list: `terms`
    find each other; with `targets`, each term also finds the targets, not the other way round. Terms are
    comma-separated phrases."""

    __tablename__ = "search_synonyms"

    terms: Mapped[str] = mapped_column(String(500))
    targets: Mapped[str] = mapped_column(String(500), default="")
    created_by: Mapped[int | None] = mapped_column(BigId, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


Base.metadata.info.setdefault("unmanaged_prefixes", ())
Base.metadata.info["unmanaged_prefixes"] += UNMANAGED_PREFIXES
