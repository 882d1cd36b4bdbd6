"""A short answer written by an LLM from the retrieved passages only, citing them; None when it fails.

Any OpenAI-compatible server (ENGAGE_LLM_BASE_URL/API_KEY/MODEL) through the `openai` client. Errors and
timeouts are logged and answered with None, so the caller keeps the retrieval answer.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence

from bots.support.knowledge import PassageHit, plain

log = logging.getLogger("engage.bot.llm")

SYSTEM = (
    "You are the customer-support assistant of the Luxia online shop. Answer the customer's question in at "
    "most three short sentences, using ONLY the numbered help-centre passages given. Cite the passages you "
    "use as [1], [2]. If the passages do not answer the question, reply exactly: NO_ANSWER. Never invent "
    "policies, prices, dates or promises."
)
NO_ANSWER = "NO_ANSWER"
MAX_ANSWER_CHARS = 1200


class GroundedAnswerer:
    def __init__(self, *, base_url: str, api_key: str, model: str, timeout: float) -> None:
        from openai import AsyncOpenAI

        self.model = model
        self.timeout = timeout
        self._client = AsyncOpenAI(
            base_url=base_url, api_key=api_key or "none", timeout=timeout, max_retries=0
        )

    @staticmethod
    def prompt(question: str, passages: Sequence[PassageHit]) -> str:
        numbered = "\n\n".join(
            f"[{i}] ({p.passage.article_title}) {plain(p.passage.text)}"
            for i, p in enumerate(passages, start=1)
        )
        return f"Passages:\n{numbered}\n\nCustomer: {question}"

    async def answer(self, question: str, passages: Sequence[PassageHit]) -> str | None:
        if not passages:
            return None
        try:
            completion = await asyncio.wait_for(
                self._client.chat.completions.create(
                    model=self.model,
                    messages=[
                        {"role": "system", "content": SYSTEM},
                        {"role": "user", "content": self.prompt(question, passages)},
                    ],
                    temperature=0.1,
                    max_tokens=250,
                ),
                timeout=self.timeout,
            )
            text = (completion.choices[0].message.content or "").strip()
        except Exception as exc:  # timeouts, connection errors, bad responses: the retrieval answer stands
            log.warning("LLM answer failed, using the retrieval answer: %s", type(exc).__name__)
            return None
        if not text or NO_ANSWER in text:
            return None
        cited = {int(n) for n in re.findall(r"\[(\d+)\]", text)}
        if not cited or not cited <= set(range(1, len(passages) + 1)):
            log.warning("LLM answer cited no given passage; using the retrieval answer")
            return None
        sources = "\n".join(
            f"[{n}] {passages[n - 1].passage.article_title}: /help/{passages[n - 1].passage.article_slug}"
            for n in sorted(cited)
        )
        return f"{text[:MAX_ANSWER_CHARS]}\n\n{sources}"

    async def aclose(self) -> None:
        await self._client.close()
