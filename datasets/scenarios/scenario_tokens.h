// Token ids the SCBench-style scenario tasks share. SCBench's prompts are text ("Extract the value
// corresponding to the specified key in the JSON object below", scbench/eval_utils.py); here the
// structure is kept and the words become marker tokens: a record is `key : value ,`, a query is
// `QUERY key :` and the answer follows, as the JSON line `"key": "value"` and SCBench's question
// do. Symbols (keys, values, variable names, digits) start at kFirstSymbol; each task carves its
// own ranges out of them (tasks/scenarios/scenario_tasks.cpp documents them per task).
#pragma once
#include <cstdint>

namespace seqbench::scenario_tokens {

constexpr int32_t kPad = 0;
constexpr int32_t kBos = 1;
constexpr int32_t kQuery = 2;      // starts every turn's question
constexpr int32_t kColon = 3;      // ends a key (in a record and in a question): the answer follows
constexpr int32_t kComma = 4;      // ends a record
constexpr int32_t kEquals = 5;     // variable tracking: `name = value ;`
constexpr int32_t kSemicolon = 6;  // ends a statement or the pass key line
constexpr int32_t kPass = 7;       // the pass key line `PASS d d d d ;` and its question `QUERY PASS :`
constexpr int32_t kFirstSymbol = 16;

}  // namespace seqbench::scenario_tokens
