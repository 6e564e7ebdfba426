"""A client for any OpenAI-compatible chat server (Ollama, vLLM, llama.cpp's server,
LM Studio, ``transformers serve``, OpenAI) through the official ``openai`` package.

Every failure becomes an :class:`~rag.errors.LLMError` with a ``kind``, so that callers
can fall back to the extractive answer; nothing waits past ``llm_timeout``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from ..errors import LLMError
from ..settings import LLMSettings

#: Chat messages in the OpenAI format.
Messages = list[dict[str, str]]


class LLMClient:
    """Streams chat completions from the configured server."""

    def __init__(self, settings: LLMSettings) -> None:
        if not settings.enabled:
            raise LLMError("No LLM is configured: set RAG_LLM_BASE_URL and RAG_LLM_MODEL "
                           "(or --llm-base-url and --llm-model).", "unavailable")
        from openai import OpenAI, Timeout

        self.settings = settings
        self.model = settings.llm_model
        timeout = float(settings.llm_timeout)
        self._client = OpenAI(
            base_url=settings.llm_base_url.strip(),
            # Local servers take any key; the client insists on one.
            api_key=settings.llm_api_key or "no-key",
            # the client's own Timeout: it checks the type of its HTTP library's (httpx2
            # since openai 3.5x), which an httpx.Timeout is not
            timeout=Timeout(timeout, connect=min(5.0, timeout)),
            max_retries=0,
        )

    def stream(
        self, messages: Messages, *, max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> Iterator[str]:
        """The answer's text pieces as they arrive; raises :class:`LLMError` on any failure
        and when the whole answer takes longer than ``llm_timeout``."""
        import openai

        s = self.settings
        deadline = time.monotonic() + float(s.llm_timeout)
        try:
            response = self._client.chat.completions.create(
                model=self.model, messages=messages, stream=True,  # type: ignore[arg-type]
                max_tokens=max_tokens or s.llm_max_tokens,
                temperature=s.llm_temperature if temperature is None else temperature,
            )
            with response:
                for chunk in response:
                    if time.monotonic() > deadline:
                        raise LLMError(f"The LLM took longer than {s.llm_timeout:g} s.",
                                       "timeout")
                    if not chunk.choices:
                        continue
                    piece = chunk.choices[0].delta.content
                    if piece:
                        yield piece
        except LLMError:
            raise
        except openai.APITimeoutError:
            raise LLMError(f"The LLM did not answer within {s.llm_timeout:g} s.",
                           "timeout") from None
        except openai.RateLimitError:
            raise LLMError("The LLM server is busy (rate limit).", "rate_limit") from None
        except openai.APIConnectionError:
            raise LLMError(f"The LLM server at {s.llm_base_url} cannot be reached.",
                           "unavailable") from None
        except openai.APIStatusError as exc:
            raise LLMError(f"The LLM server answered with an error ({exc.status_code}).",
                           "refused") from None
        except (openai.OpenAIError, ValueError, KeyError, AttributeError, TypeError) as exc:
            raise LLMError(f"The LLM server sent an unusable reply ({type(exc).__name__}).",
                           "malformed") from None

    def complete(self, messages: Messages, *, max_tokens: int | None = None,
                 on_piece: Callable[[str], None] | None = None) -> str:
        """The whole answer as one text (``on_piece`` sees each piece as it arrives)."""
        parts = []
        for piece in self.stream(messages, max_tokens=max_tokens):
            parts.append(piece)
            if on_piece is not None:
                on_piece(piece)
        return "".join(parts)
