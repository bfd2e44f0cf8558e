import pytest

from hftshm.latency import LatencyBook


@pytest.fixture
def make_book(instance):
    """``make_book(stages, **options)`` creates the test's latency book; unlinked afterwards."""
    books = []

    def make(stages=("a",), **options):
        book = LatencyBook.create(instance, stages, **options)
        books.append(book)
        return book

    yield make
    for book in books:
        book.unlink()
        book.close()
