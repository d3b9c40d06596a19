//! A fixed piece of SQL in a diesel query that keeps the statement cacheable.
//!
//! diesel's `sql()` marks the whole statement as not to be cached, so it is prepared anew
//! on every call (on SQLite about a million instructions for the roll call's statements
//! each request). A [`Fixed`] fragment is `'static` text: the statement is cached by its
//! SQL like any other whose shape is not known from its type alone.

use std::marker::PhantomData;

use diesel::backend::Backend;
use diesel::expression::{
    is_aggregate, AppearsOnTable, Expression, SelectableExpression, TypedExpressionType,
    ValidGrouping,
};
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::QueryResult;

/// `sql` as an expression of SQL type `ST`; see the module.
pub fn fixed<ST: TypedExpressionType>(sql: &'static str) -> Fixed<ST> {
    Fixed(sql, PhantomData)
}

#[derive(Debug, Clone, Copy)]
pub struct Fixed<ST>(&'static str, PhantomData<ST>);

impl<ST: TypedExpressionType> Expression for Fixed<ST> {
    type SqlType = ST;
}

impl<ST, DB: Backend> QueryFragment<DB> for Fixed<ST> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql(self.0);
        Ok(())
    }
}

/// Not static: two statements of one type with different fixed text are two statements,
/// so the cache keys them by their SQL.
impl<ST> QueryId for Fixed<ST> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<QS, ST: TypedExpressionType> SelectableExpression<QS> for Fixed<ST> {}

impl<QS, ST: TypedExpressionType> AppearsOnTable<QS> for Fixed<ST> {}

impl<ST, GB> ValidGrouping<GB> for Fixed<ST> {
    type IsAggregate = is_aggregate::Never;
}
