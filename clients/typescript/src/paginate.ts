/** One page of a collection, as the API returns it. */
export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

/**
 * What every `list()` returns. Iterate it for every record of every page
 * (`for await (const asset of client.technology.technology.list({ criticality: "critical" }))`),
 * call `.page()` for one page (`.page(cursor)` for a later one), `.pages()` to walk page by page,
 * or `await` it for the first page (the same as `.page()`).
 *
 * Pages are fetched lazily, one request each, following `next_cursor` until it is `null` (a page
 * may hold fewer items than `limit`, even none, while more follow).
 */
export class Paginator<T> implements AsyncIterable<T>, PromiseLike<Page<T>> {
  readonly #fetchPage: (cursor: string | undefined) => Promise<Page<T>>;
  readonly #start: string | undefined;

  constructor(fetchPage: (cursor: string | undefined) => Promise<Page<T>>, start?: string) {
    this.#fetchPage = fetchPage;
    this.#start = start;
  }

  /** One page: the first (or the one `cursor` names). */
  page(cursor: string | undefined = this.#start): Promise<Page<T>> {
    return this.#fetchPage(cursor);
  }

  /** Every page, in order. */
  async *pages(): AsyncGenerator<Page<T>, void, undefined> {
    let cursor = this.#start;
    do {
      const page = await this.#fetchPage(cursor);
      yield page;
      cursor = page.next_cursor ?? undefined;
    } while (cursor !== undefined);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    for await (const page of this.pages()) {
      yield* page.items;
    }
  }

  /** Every record of every page, in one array. */
  async toArray(): Promise<T[]> {
    const all: T[] = [];
    for await (const item of this) all.push(item);
    return all;
  }

  // `await client.….list()` is the first page.
  then<A = Page<T>, B = never>(
    onfulfilled?: ((value: Page<T>) => A | PromiseLike<A>) | null,
    onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.page().then(onfulfilled, onrejected);
  }
}
