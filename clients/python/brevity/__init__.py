"""Python client for Brevity, the summarization service.

    import brevity
    client = brevity.Client("http://localhost:8000")
    print(client.summarize("The city council approved ...", max_length=60).summaries[0].text)
"""
from ._client import AsyncClient, Client
from ._types import APIError, ResultEvent, Sentence, Summary, SummarizeResult, TokenEvent

__version__ = "0.1.0"

__all__ = ["AsyncClient", "Client", "APIError", "ResultEvent", "Sentence", "Summary", "SummarizeResult", "TokenEvent",
           "__version__"]
