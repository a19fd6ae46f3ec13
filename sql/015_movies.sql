-- The movie catalogue: titles, genres and a price tier per movie (BUDGET < 10,
-- STANDARD 10-20, PREMIUM > 20 per ticket). A reference table: rows are added or
-- updated to match the catalogue on every deploy, never dropped.
CREATE TABLE IF NOT EXISTS {{ ns }}.movies (
    movie_id           STRING,
    title              STRING,
    genre              STRING,
    price_tier         STRING,
    base_ticket_price  NUMBER(10, 2)
);

MERGE INTO {{ ns }}.movies AS m
USING (
    SELECT * FROM VALUES
{%- for movie in movies %}
        ({{ movie.movie_id | literal }}, {{ movie.title | literal }}, {{ movie.genre | literal }}, {{ movie.price_tier | literal }}, {{ movie.base_ticket_price }}){{ "," if not loop.last }}
{%- endfor %}
    AS v (movie_id, title, genre, price_tier, base_ticket_price)
) AS c
ON m.movie_id = c.movie_id
WHEN MATCHED THEN UPDATE SET
    title = c.title, genre = c.genre, price_tier = c.price_tier,
    base_ticket_price = c.base_ticket_price
WHEN NOT MATCHED THEN INSERT (movie_id, title, genre, price_tier, base_ticket_price)
    VALUES (c.movie_id, c.title, c.genre, c.price_tier, c.base_ticket_price);
