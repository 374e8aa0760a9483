"""Open intent clusters written straight through the ORM, for route and page tests."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from labelwise.service.transactions import begin_write
from labelwise.store import IntentCluster, IntentClusterMember, Item, Project


def make_cluster(
    session_factory: sessionmaker[Session], project: Project, texts: list[str], name: str
) -> tuple[int, list[int]]:
    """An open cluster over the project's items with ``texts`` (in that order); returns
    its id and the member item ids."""
    with session_factory() as session:
        begin_write(session)
        ids = {
            text: item_id
            for item_id, text in session.execute(
                select(Item.id, Item.text).where(Item.project_id == project.id)
            ).all()
        }
        members = [ids[t] for t in texts]
        cluster = IntentCluster(
            project_id=project.id,
            size=len(members),
            suggested_name=name,
            terms=name.split("_"),
            representatives=members[:5],
        )
        session.add(cluster)
        session.flush()
        for rank, item_id in enumerate(members):
            session.add(
                IntentClusterMember(
                    cluster_id=cluster.id, item_id=item_id, rank=rank, similarity=0.9
                )
            )
        session.commit()
        return cluster.id, members
