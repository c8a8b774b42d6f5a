"""Everything long-lived the app owns, in one typed object on `app.state.resources`.

`lifespan.open_resources` builds it in dependency order and closes it in reverse; the API
reaches it through the `Annotated` aliases in `api.deps`. `Core` is the part the command
line needs too (the database, the secret box, providers, keys), without any background task.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bigshot_llm.services.access.auth import Authenticator
from bigshot_llm.services.access.rate_limits import RateLimits
from bigshot_llm.services.access.secrets import SecretBox
from bigshot_llm.services.access.slots import StreamSlots
from bigshot_llm.services.agents.stored_responses import ResponseStore
from bigshot_llm.services.chat.streams import StreamManager
from bigshot_llm.services.cluster import Cluster
from bigshot_llm.services.compare import CompareService
from bigshot_llm.services.generation.admission import Admission
from bigshot_llm.services.generation.catalog import ModelCatalog
from bigshot_llm.services.generation.model_switch import IdleModels
from bigshot_llm.services.generation.routing import Router
from bigshot_llm.services.generation.service import GenerationService
from bigshot_llm.services.providers.health import HealthMonitor
from bigshot_llm.services.providers.presets import ModelPresets
from bigshot_llm.services.providers.registry import ProviderRegistry
from bigshot_llm.services.quotas.gate import QuotaGate
from bigshot_llm.services.usage.metrics import Metrics
from bigshot_llm.services.usage.recorder import UsageRecorder
from bigshot_llm.services.webhooks.dispatcher import WebhookDispatcher
from bigshot_llm.settings import Settings
from bigshot_llm.shutdown import ShutdownNotice


@dataclass(eq=False)
class Core:
    """The database, the secret box, the provider snapshot and the key resolver."""

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    box: SecretBox
    registry: ProviderRegistry
    auth: Authenticator


@dataclass(eq=False)
class Resources(Core):
    """`Core` plus everything that serves requests and runs in the background."""

    cluster: Cluster
    catalog: ModelCatalog
    router: Router
    rate_limits: RateLimits
    slots: StreamSlots
    metrics: Metrics | None
    usage: UsageRecorder
    webhooks: WebhookDispatcher
    health: HealthMonitor
    generation: GenerationService
    admission: Admission | None
    idle_models: IdleModels
    presets: ModelPresets
    streams: StreamManager
    compare: CompareService
    shutdown: ShutdownNotice
    quotas: QuotaGate
    responses: ResponseStore
