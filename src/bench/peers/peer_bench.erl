%% The Erlang/OTP peer of src/bench/peers/run.sh (what each workload
%% measures, and how it matches Lumen's, is in run.sh's header comment).
%%
%% A task is a process spawned for it that computes small_value() (1) and
%% sends it to the caller; an actor is a gen_server whose call returns 1.
%% Every reply is checked, and the sum of each batch.
%%
%% Timing is Lumen's harness (timeit in the microbenchmark's
%% bench_harness.hpp): a warm-up of duration/4 clamped to 0.2..1 s, then
%% steps for the duration; the rate is operations per second. Prints
%% `NAME VALUE /s`.
%%
%% Usage: erl -noshell -pa DIR -run peer_bench main NAME DURATION -s init stop
%% (the two_node_* workloads need the node started with -name and a cookie;
%% it starts the second node itself with OTP's peer module).
-module(peer_bench).
-behaviour(gen_server).

-export([main/1, small_value/0, remote_task/2]).
-export([init/1, handle_call/3, handle_cast/2]).

-define(BATCH, 1000).

small_value() -> 1.

%% gen_server: the actor.
init([]) -> {ok, nostate}.
handle_call(small_value, _From, S) -> {reply, small_value(), S}.
handle_cast(_Msg, S) -> {noreply, S}.

%% A task on another node: runs there, sends its value back.
remote_task(Caller, Ref) -> Caller ! {Ref, small_value()}.

main([Name, DurationText]) ->
    Duration = to_number(DurationText),
    Rate = run(Name, Duration),
    case get(second_node) of
        undefined -> ok;
        Peer -> peer:stop(Peer) % waits for it, so its process is reaped
    end,
    io:format("~s ~.1f /s~n", [Name, Rate]),
    halt(0).

to_number(S) ->
    try list_to_float(S) catch error:badarg -> float(list_to_integer(S)) end.

check(true, _What) -> ok;
check(false, What) ->
    io:format(standard_error, "peer_bench: ~s~n", [What]),
    halt(1).

%% One task: spawn, compute, reply; the caller waits for it.
task_sync() ->
    Caller = self(),
    Ref = make_ref(),
    spawn(fun() -> Caller ! {Ref, small_value()} end),
    receive {Ref, V} -> check(V =:= 1, "task value") end.

%% BATCH tasks spawned, then all their values collected.
tasks_async(Spawn) ->
    Ref = make_ref(),
    lists:foreach(fun(_) -> Spawn(Ref) end, lists:seq(1, ?BATCH)),
    Sum = collect(Ref, ?BATCH, 0),
    check(Sum =:= ?BATCH, "sum of the batch").

collect(_Ref, 0, Sum) -> Sum;
collect(Ref, N, Sum) ->
    receive
        {Ref, V} -> collect(Ref, N - 1, Sum + V);
        {spawn_reply, _Id, error, Reason} ->
            check(false, io_lib:format("remote spawn failed: ~p", [Reason]))
    end.

local_spawn(Caller) ->
    fun(Ref) -> spawn(fun() -> Caller ! {Ref, small_value()} end) end.

%% BATCH requests to the gen_server, then all replies (OTP's own async
%% request API: each request monitors the server, so a dead server is an
%% error, not a hang).
calls_async(Server) ->
    Ids = [gen_server:send_request(Server, small_value)
           || _ <- lists:seq(1, ?BATCH)],
    Sum = lists:foldl(
            fun(Id, Acc) ->
                    {reply, V} = gen_server:wait_response(Id, infinity),
                    Acc + V
            end, 0, Ids),
    check(Sum =:= ?BATCH, "sum of the replies").

run("single_client_tasks_sync", D) ->
    timeit(1, D, fun task_sync/0);
run("single_client_tasks_async", D) ->
    Spawn = local_spawn(self()),
    timeit(?BATCH, D, fun() -> tasks_async(Spawn) end);
run("1_1_actor_calls_sync", D) ->
    {ok, S} = gen_server:start(?MODULE, [], []),
    timeit(1, D, fun() ->
                         check(gen_server:call(S, small_value, infinity) =:= 1,
                               "call value")
                 end);
run("1_1_actor_calls_async", D) ->
    {ok, S} = gen_server:start(?MODULE, [], []),
    timeit(?BATCH, D, fun() -> calls_async(S) end);
run("two_node_tasks_async", D) ->
    Node = start_second_node(),
    Caller = self(),
    %% spawn_request, not spawn/4: spawn/4 to another node waits for the
    %% new pid (a round trip per task); a Lumen submit does not wait.
    %% error_only: no message on success, one if the spawn fails.
    Spawn = fun(Ref) ->
                    erlang:spawn_request(Node, ?MODULE, remote_task,
                                         [Caller, Ref], [{reply, error_only}])
            end,
    timeit(?BATCH, D, fun() -> tasks_async(Spawn) end);
run("two_node_actor_calls_async", D) ->
    Node = start_second_node(),
    {ok, S} = erpc:call(Node, gen_server, start, [?MODULE, [], []]),
    check(node(S) =:= Node, "gen_server on the second node"),
    timeit(?BATCH, D, fun() -> calls_async(S) end);
run(Name, _D) ->
    check(false, "unknown workload " ++ Name).

%% A second node on loopback (a child process of this one, stopped with it).
start_second_node() ->
    check(node() =/= nonode@nohost, "start with -name for two-node workloads"),
    Dir = filename:dirname(code:which(?MODULE)),
    {ok, Peer, Node} =
        peer:start_link(#{name => peer:random_name(),
                          host => "127.0.0.1",
                          longnames => true,
                          args => ["-pa", Dir, "-start_epmd", "false",
                                   "-setcookie",
                                   atom_to_list(erlang:get_cookie()),
                                   "-kernel", "inet_dist_use_interface",
                                   "{127,0,0,1}"]}),
    put(second_node, Peer),
    pong = net_adm:ping(Node),
    %% Check that a task spawned there runs there.
    Ref = make_ref(),
    Caller = self(),
    spawn(Node, fun() -> Caller ! {Ref, node()} end),
    receive {Ref, Where} -> check(Where =:= Node, "task on the second node")
    after 10000 -> check(false, "no reply from the second node")
    end,
    Node.

timeit(Ops, Duration, Step) ->
    Warmup = min(1.0, max(0.2, Duration / 4)),
    T0 = now_s(),
    Warm = loop_until(Step, T0 + Warmup, 0),
    Batch = max(1, trunc(Warm * Duration / Warmup / 500)),
    T1 = now_s(),
    {Steps, Elapsed} = measure(Step, Batch, T1, Duration, 0),
    Ops * Steps / Elapsed.

loop_until(Step, End, N) ->
    Step(),
    case now_s() < End of
        true -> loop_until(Step, End, N + 1);
        false -> N + 1
    end.

measure(Step, Batch, T0, Duration, Steps) ->
    repeat(Step, Batch),
    Elapsed = now_s() - T0,
    case Elapsed < Duration of
        true -> measure(Step, Batch, T0, Duration, Steps + Batch);
        false -> {Steps + Batch, Elapsed}
    end.

repeat(_Step, 0) -> ok;
repeat(Step, N) -> Step(), repeat(Step, N - 1).

now_s() -> erlang:monotonic_time(nanosecond) / 1.0e9.
